#include "app/cli.hpp"

int main(int argc, char** argv) { return hf::app::run_cli(argc, argv); }
