// Reading another process's CPU time and memory from /proc, and our own CPU
// time, for the benchmark reports.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace hfb {

struct proc_sample {
  double cpu_seconds = 0;    // utime + stime of all threads
  std::int64_t rss_kib = 0;  // VmRSS
  std::int64_t hwm_kib = 0;  // VmHWM (peak RSS)
};

// Samples /proc/<pid>/stat and /proc/<pid>/status; zeros when pid <= 0 or the
// process is gone.
proc_sample sample_process(pid_t pid);

// CPU seconds (user + system) used so far by this process (all threads).
double self_cpu_seconds();

// Raises this process's soft RLIMIT_NOFILE to its hard limit.
void raise_fd_limit();

}  // namespace hfb
