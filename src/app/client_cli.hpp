// The client subcommands: `listen` (a WebSocket client that prints envelopes
// as JSON lines and acks them), `publish` (one POST /publish, the answer
// printed) and `devices` (GET /users/<id>/devices, the answer printed). They
// talk to a running server; a developer's first client after `make run`, and
// a scripting tool. See README.md ("Clients").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace hf::app {

// Reads the configuration (flags that are not the subcommand's own, the
// environment, ENV_FILE, CONFIG_FILE) exactly as the server would.
using config_loader = std::function<config::load_result(const std::vector<std::string>&)>;

int listen_command(const std::string& program, const std::vector<std::string>& args,
                   const config_loader& load);
int publish_command(const std::string& program, const std::vector<std::string>& args,
                    const config_loader& load);
int devices_command(const std::string& program, const std::vector<std::string>& args,
                    const config_loader& load);

}  // namespace hf::app
