// config::load with the environment and files given as maps, for the
// configuration tests.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace hf::config::test_support {

struct fixture {
  std::map<std::string, std::string> env, files;
  load_result run(std::vector<std::string> args) {
    return load(
        args,
        [&](const std::string& k) -> std::optional<std::string> {
          auto it = env.find(k);
          return it == env.end() ? std::nullopt : std::optional(it->second);
        },
        [&](const std::string& p) -> std::optional<std::string> {
          auto it = files.find(p);
          return it == files.end() ? std::nullopt : std::optional(it->second);
        });
  }
};

inline const std::string long_secret(40, 's');

}  // namespace hf::config::test_support
