#include "net/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace hf::net {
namespace {

std::optional<std::uint64_t> number(std::string_view s) noexcept {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Entries of /proc/self/fd, less "." and ".."; the descriptor this listing
// uses is counted, as the client libraries count it.
std::optional<std::uint64_t> open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept {
  std::size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  text.remove_prefix(close + 1);
  // Field 3 (state) is token 0 after the command name.
  std::uint64_t fields[22] = {};
  std::size_t token = 0;
  while (token < 22) {
    std::size_t start = text.find_first_not_of(" \n");
    if (start == std::string_view::npos) return std::nullopt;
    text.remove_prefix(start);
    std::size_t end = text.find_first_of(" \n");
    std::string_view t = text.substr(0, end);
    text.remove_prefix(t.size());
    // utime, stime, starttime, vsize, rss (priority and nice, between them,
    // may be negative: not read).
    if (token == 11 || token == 12 || token >= 19) {
      auto v = number(t);
      if (!v) return std::nullopt;
      fields[token] = *v;
    }
    ++token;
  }
  return proc_stat{.utime = fields[11],
                   .stime = fields[12],
                   .starttime = fields[19],
                   .vsize = fields[20],
                   .rss = fields[21]};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) noexcept {
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    if (line.starts_with("btime ")) {
      line.remove_prefix(6);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      return number(line);
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return std::nullopt;
}

std::optional<metrics::process_sample> read_process_sample() {
  auto stat_text = slurp("/proc/self/stat");
  auto boot_text = slurp("/proc/stat");
  if (!stat_text || !boot_text) return std::nullopt;
  auto stat = parse_proc_stat(*stat_text);
  auto boot = parse_boot_time(*boot_text);
  auto fds = open_fds();
  long ticks = ::sysconf(_SC_CLK_TCK);
  long page = ::sysconf(_SC_PAGESIZE);
  rlimit limit{};
  if (!stat || !boot || !fds || ticks <= 0 || page <= 0 || ::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return std::nullopt;
  double hz = double(ticks);
  return metrics::process_sample{
      .cpu_seconds = double(stat->utime + stat->stime) / hz,
      .resident_bytes = double(stat->rss) * double(page),
      .virtual_bytes = double(stat->vsize),
      .open_fds = double(*fds),
      .max_fds = double(limit.rlim_cur),
      .start_time_seconds = double(*boot) + double(stat->starttime) / hz};
}

}  // namespace hf::net
