// The command line: `serve` (default) and `token`. Everything main() does.
#pragma once

namespace hf::app {

// Runs the program; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace hf::app
