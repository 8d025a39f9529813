// The process_* metrics of /metrics (the names and units the Prometheus
// client libraries' process collector uses), read from /proc at the scrape.
// Linux only; the parsers are pure and tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/metrics.hpp"

namespace hf::net {

// This process now: /proc/self/stat (CPU time, memory, start time),
// /proc/stat (boot time), /proc/self/fd and getrlimit(RLIMIT_NOFILE).
// nullopt when /proc cannot be read (then /metrics has no process_* lines).
// A few system calls and a directory listing: called once per scrape.
std::optional<metrics::process_sample> read_process_sample();

// The fields of /proc/<pid>/stat that the sample needs (proc(5)): utime (14),
// stime (15) and starttime (22) in clock ticks, vsize (23) in bytes, rss (24)
// in pages. Counted from the last ')' so that a command name with spaces or
// parentheses does not shift them. nullopt when the text is too short.
struct proc_stat {
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
};
std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept;

// The "btime" line of /proc/stat: when the system booted, in seconds since
// the Unix epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view text) noexcept;

}  // namespace hf::net
