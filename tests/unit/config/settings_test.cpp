// The table of settings against everything it drives: the README's table,
// --help, --check-config (describe) and parsing from every source.
#include <gtest/gtest.h>
#include <spdlog/common.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "config/config.hpp"
#include "config/redis_url.hpp"
#include "load_fixture.hpp"

using namespace hf::config;

namespace {

using hf::config::test_support::fixture;
using hf::config::test_support::long_secret;

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  std::size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

std::string without_backticks(std::string s) {
  std::erase(s, '`');
  return s;
}

// The README's rule for the default column: the first `backticked` value, so
// words may follow it ("`0` (one per core)"); else the whole cell, which is
// then a parenthesised word such as "(required)".
std::string readme_default(const std::string& cell) {
  if (cell.starts_with('`')) return cell.substr(1, cell.find('`', 1) - 1);
  return cell;
}

struct readme_row {
  std::string env, flag, default_value;
};

// The markdown table under "## Configuration" in README.md.
std::vector<readme_row> readme_settings() {
  std::ifstream in(std::string(HOPEFLOW_SOURCE_DIR) + "/README.md");
  EXPECT_TRUE(in) << "README.md not found under " << HOPEFLOW_SOURCE_DIR;
  std::string line;
  while (std::getline(in, line) && line != "## Configuration") {
  }
  while (std::getline(in, line) && !line.starts_with('|')) {
  }
  EXPECT_EQ(line, "| variable | flag | default | meaning |");
  std::getline(in, line);  // |---|---|...
  std::vector<readme_row> rows;
  while (std::getline(in, line) && line.starts_with('|')) {
    std::vector<std::string> cells;
    std::istringstream split(line.substr(1));
    for (std::string cell; std::getline(split, cell, '|');) cells.push_back(trim(cell));
    EXPECT_GE(cells.size(), 4u) << line;
    if (cells.size() < 4) continue;
    rows.push_back(
        {without_backticks(cells[0]), without_backticks(cells[1]), readme_default(cells[2])});
  }
  return rows;
}

const setting& row_named(const std::string& env) {
  for (const auto& s : settings())
    if (s.env == env) return s;
  ADD_FAILURE() << "no setting " << env;
  return settings().front();
}

// The lines of help_text() about one setting: its flag line and its help.
std::string help_for(const std::string& help, const setting& s) {
  std::size_t at = help.find("  " + s.flag + " <v>");
  if (at == std::string::npos) return {};
  std::size_t first_end = help.find('\n', at);
  return help.substr(at, help.find('\n', first_end + 1) - at);
}

// A default quoted in a doc, as a number: "16 KiB", "2 min", "10,000", "0: the
// open-file limit". Thousands separators (',', narrow and thin spaces) are
// dropped; byte units count for byte settings, time units (in ms) for *_MS
// ones. The quantity must end there, so "(431 above)", a status code, is none.
std::optional<unsigned long long> quoted_number(const std::string& env, const std::string& v) {
  static const std::regex quantity(
      "^(\\d{1,3}(?:(?:,|\xe2\x80\xaf|\xe2\x80\x89)\\d{3})+|\\d+)(?: ([A-Za-z]+))?"
      "(?=$|[:;)]|, | \\(| =| per )");
  using unit_table = std::map<std::string, unsigned long long>;
  const unit_table units =
      env.ends_with("_MS")
          ? unit_table{{"", 1}, {"ms", 1}, {"s", 1000}, {"min", 60'000}, {"h", 3'600'000}}
          : unit_table{{"", 1}, {"B", 1}, {"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}};
  std::smatch m;
  if (!std::regex_search(v, m, quantity) || !units.contains(m[2].str())) return std::nullopt;
  std::string digits = m[1].str();
  std::erase_if(digits, [](char c) { return !std::isdigit(static_cast<unsigned char>(c)); });
  return std::stoull(digits) * units.at(m[2].str());
}

}  // namespace

TEST(Settings, ReadmeTableListsEveryRowInOrderWithFlagAndDefault) {
  auto readme = readme_settings();
  const auto& rows = settings();
  ASSERT_EQ(readme.size(), rows.size()) << "the README's table and settings() differ in length";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(readme[i].env, rows[i].env) << "row " << i;
    EXPECT_EQ(readme[i].flag, rows[i].flag) << rows[i].env;
    EXPECT_EQ(readme[i].default_value, rows[i].default_value) << rows[i].env;
  }
}

// "Defaults live in the settings table only": wherever README.md or docs/*.md
// quotes a setting's default, it must be the table's. Three shapes are read;
// anything else is free text, left alone:
//   | `HISTORY_SIZE` | `100` | ...    a backticked second cell: the exact text;
//   `NAME` (4 MiB), NAME (default 5,000 ms), `NAME` filters (default 10,000);
//   | x (`A`, `B`) | 4 MiB / 1,024 |  a table whose second column is "default".
// The README's configuration table (`--flag` second) has its own test above.
TEST(Settings, DefaultsQuotedInTheDocsAreTheTablesDefaults) {
  const std::string root = HOPEFLOW_SOURCE_DIR;
  std::vector<std::string> files{"README.md"};
  for (const auto& e : std::filesystem::directory_iterator(root + "/docs"))
    if (e.path().extension() == ".md") files.push_back("docs/" + e.path().filename().string());
  std::map<std::string, const setting*> by_name;
  for (const auto& s : settings()) by_name[s.env] = &s;
  const std::regex backticked("`([A-Z][A-Z0-9_]+)`"), parts_of(", | / ");
  const std::regex in_parens(
      "\\b([A-Z][A-Z0-9_]+)`? (?:[a-z]+ (?=\\(default ))?\\((?:default )?([^)]{0,300})\\)");
  int checked = 0;
  auto check_number = [&](const std::string& file, const std::string& env,
                          const std::string& quote) {
    const setting* s = by_name.contains(env) ? by_name[env] : nullptr;
    auto n = quoted_number(env, quote);
    if (!s || !n || s->default_value.find_first_not_of("0123456789") != std::string::npos) return;
    ++checked;
    EXPECT_EQ(std::to_string(*n), s->default_value) << file << ": " << env << " (" << quote << ")";
  };
  for (const auto& file : files) {
    std::ifstream in(root + "/" + file);
    ASSERT_TRUE(in) << file;
    std::string text, line;
    bool default_column = false;
    for (bool in_table = false; std::getline(in, line); in_table = line.starts_with('|')) {
      text += trim(line) + " ";  // one line of text, so that a quote may wrap
      if (!line.starts_with('|')) continue;
      std::vector<std::string> cells;
      std::istringstream split(line.substr(1));
      for (std::string cell; std::getline(split, cell, '|');) cells.push_back(trim(cell));
      if (!in_table) default_column = cells.size() > 1 && cells[1] == "default";
      if (cells.size() < 2) continue;
      std::smatch m;
      if (std::regex_match(cells[0], m, backticked) && by_name.contains(m[1]) &&
          cells[1].starts_with('`') && !cells[1].starts_with("`--")) {
        ++checked;
        EXPECT_EQ(readme_default(cells[1]), by_name[m[1]]->default_value) << file << ": " << line;
      }
      if (!default_column) continue;
      std::vector<std::string> names, values;
      for (std::sregex_iterator it(cells[0].begin(), cells[0].end(), backticked), end; it != end;
           ++it)
        names.push_back((*it)[1]);
      for (std::sregex_token_iterator it(cells[1].begin(), cells[1].end(), parts_of, -1), end;
           it != end; ++it)
        values.push_back(*it);
      if (names.size() == values.size())
        for (std::size_t i = 0; i < names.size(); ++i) check_number(file, names[i], values[i]);
    }
    for (std::sregex_iterator it(text.begin(), text.end(), in_parens), end; it != end; ++it)
      check_number(file, (*it)[1], (*it)[2]);
  }
  EXPECT_GE(checked, 55) << "fewer quotes than the docs held (58) when this was written";
}

TEST(Settings, ShownDefaultsAreThoseOfADefaultConfig) {
  const config defaults{};
  for (const auto& s : settings()) {
    ASSERT_FALSE(s.default_value.empty()) << s.env;
    if (s.default_value.starts_with('(') && s.default_value.ends_with(')')) continue;
    EXPECT_EQ(s.default_value, s.show(defaults)) << s.env;
  }
  EXPECT_EQ(row_named("PORT").default_value, "8787");
  EXPECT_EQ(row_named("JWT_SECRET").default_value, "(required)");
}

TEST(Settings, NamesAreUnique) {
  std::map<std::string, int> seen;
  for (const auto& s : settings()) {
    EXPECT_EQ(++seen[s.env], 1) << s.env;
    EXPECT_EQ(++seen[s.flag], 1) << s.flag;
    EXPECT_TRUE(s.flag.starts_with("--")) << s.flag;
  }
}

TEST(Settings, HelpShowsEveryRowAndEveryAcceptedChoice) {
  const std::string help = help_text("prog");
  for (const auto& s : settings()) {
    std::string lines = help_for(help, s);
    ASSERT_FALSE(lines.empty()) << s.flag;
    EXPECT_NE(lines.find(s.env + " (default " + s.default_value + ")"), std::string::npos) << lines;
    EXPECT_NE(lines.find(s.help), std::string::npos) << lines;
    for (const auto& choice : s.choices) {
      EXPECT_NE(s.help.find(choice), std::string::npos) << s.env << " help lacks " << choice;
      fixture f;
      f.env["JWT_SECRET"] = long_secret;
      f.env[s.env] = choice;
      auto r = f.run({});
      EXPECT_FALSE(r.error) << s.env << "=" << choice << ": " << *r.error;
    }
  }
  EXPECT_EQ(row_named("LOG_LEVEL").choices, log_levels());
  EXPECT_NE(help_for(help, row_named("LOG_LEVEL")).find("critical"), std::string::npos);
}

TEST(Settings, EveryLogLevelIsAcceptedAndKnownToTheLogger) {
  for (const auto& level : log_levels()) {
    fixture f;
    f.env["JWT_SECRET"] = long_secret;
    auto r = f.run({"--log-level", level});
    ASSERT_FALSE(r.error) << level << ": " << *r.error;
    EXPECT_EQ(r.cfg.log_level, level);
    // spdlog maps names it does not know to `off`.
    EXPECT_TRUE(level == "off" || spdlog::level::from_str(level) != spdlog::level::off) << level;
  }
  for (std::string refused : {"warning", "INFO", "", "loud"}) {
    fixture f;
    f.env["JWT_SECRET"] = long_secret;
    auto r = f.run({"--log-level=" + refused});
    ASSERT_TRUE(r.error) << refused;
    EXPECT_NE(r.error->find("LOG_LEVEL"), std::string::npos) << *r.error;
    EXPECT_NE(r.error->find("critical"), std::string::npos) << *r.error;
  }
}

TEST(Settings, DescribePrintsOneLinePerRowInOrder) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  f.files["hf.toml"] = "port = 9000\n";
  auto r = f.run({"--config", "hf.toml", "--tls-cert-file=c.pem", "--tls-key-file=k.pem"});
  ASSERT_FALSE(r.error) << *r.error;
  std::istringstream lines(describe(r.cfg));
  std::string line;
  for (const auto& s : settings()) {
    ASSERT_TRUE(std::getline(lines, line)) << "no line for " << s.env;
    EXPECT_TRUE(line.starts_with(s.env + "=")) << line;
  }
  EXPECT_FALSE(std::getline(lines, line)) << "extra line: " << line;
  const std::string d = describe(r.cfg);
  EXPECT_NE(d.find("JWT_SECRET=(40 bytes)\n"), std::string::npos) << d;
  EXPECT_EQ(d.find(long_secret), std::string::npos) << "the secret itself is never printed";
  for (const char* shown : {"PORT=9000\n", "CONFIG_FILE=hf.toml\n", "ENV_FILE=.env\n",
                            "TLS_CERT_FILE=c.pem\n", "TLS_KEY_FILE=k.pem\n"})
    EXPECT_NE(d.find(shown), std::string::npos) << shown << " in\n" << d;
}

TEST(Settings, EachRowParsesWhatItShowsFromEverySource) {
  // A configuration unlike the defaults wherever a row allows it.
  fixture varied;
  varied.env = {{"JWT_SECRET", long_secret},
                {"HOST", "0.0.0.0"},
                {"PORT", "0"},
                {"THREADS", "3"},
                {"ACK_TIMEOUT_MS", "250"},
                {"MAX_BODY_BYTES", "4096"},
                {"MAX_QUEUED_BYTES", "17179869184"},
                {"REQUEST_TIMEOUT_MS", "100"},
                {"HEARTBEAT_INTERVAL_MS", "0"},
                {"TLS_CERT_FILE", "c.pem"},
                {"TLS_KEY_FILE", "k.pem"},
                {"REDIS_URL", "redis://10.0.0.1:6380"},
                {"REDIS_REQUIRED", "1"},
                {"NODE_ID", "node-7"},
                {"SERVE_SDK", "1"},
                {"WEBHOOK_URL", "https://backend.example/hooks?x=1"},
                {"WEBHOOK_SECRET", long_secret},
                {"LATE_ACK_MS", "1500"},
                {"LOG_LEVEL", "critical"},
                {"LOG_FORMAT", "json"},
                {"ENV_FILE", "my.env"},
                {"CONFIG_FILE", "hf.toml"}};
  varied.files["hf.toml"] = "max_connections = 9\n";
  fixture plain;
  plain.env["JWT_SECRET"] = long_secret;

  for (fixture* source : {&varied, &plain}) {
    auto first = source->run({});
    ASSERT_FALSE(first.error) << *first.error;
    fixture by_flag, by_env, by_toml;
    by_flag.files = by_env.files = source->files;
    by_flag.env["JWT_SECRET"] = by_env.env["JWT_SECRET"] = by_toml.env["JWT_SECRET"] = long_secret;
    if (source->env.contains("WEBHOOK_SECRET"))  // shown masked, so given as it is
      by_flag.env["WEBHOOK_SECRET"] = by_env.env["WEBHOOK_SECRET"] = by_toml.env["WEBHOOK_SECRET"] =
          source->env["WEBHOOK_SECRET"];
    by_toml.env["CONFIG_FILE"] = "all.toml";
    std::vector<std::string> args;
    std::string toml;
    for (const auto& s : settings()) {
      if (s.env == "JWT_SECRET" || s.env == "PUBLISH_SECRET" || s.env == "WEBHOOK_SECRET")
        continue;  // shown masked
      std::string shown = s.show(first.cfg);
      args.push_back(s.flag + "=" + shown);
      by_env.env[s.env] = shown;
      if (s.env != "CONFIG_FILE" && s.env != "ENV_FILE") {  // not read from the TOML file
        std::string key = s.env;
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        toml += key + " = \"" + shown + "\"\n";
      }
    }
    by_toml.files["all.toml"] = toml;
    for (auto [how, again] :
         {std::pair{"flags", by_flag.run(args)}, std::pair{"environment", by_env.run({})},
          std::pair{"TOML", by_toml.run({})}}) {
      ASSERT_FALSE(again.error) << how << ": " << *again.error;
      for (const auto& s : settings()) {
        if (how == std::string("TOML") && (s.env == "CONFIG_FILE" || s.env == "ENV_FILE")) continue;
        EXPECT_EQ(s.show(again.cfg), s.show(first.cfg)) << s.env << " from " << how;
      }
    }
  }
  auto r = varied.run({});
  EXPECT_EQ(r.cfg.max_connections, 9u);
  EXPECT_EQ(r.cfg.config_file, "hf.toml");
  EXPECT_EQ(r.cfg.env_file, "my.env");
}

TEST(Settings, CrossSettingRulesComeAfterTheRows) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  auto r = f.run({"--tls-key-file", "k.pem"});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, "TLS_CERT_FILE: TLS needs both TLS_CERT_FILE and TLS_KEY_FILE");
  r = f.run({"--tls-cert-file", "c.pem", "--port", "x"});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->rfind("PORT: ", 0), 0u) << *r.error;  // a bad value is reported first
  f.files["hf.toml"] = "config_file = \"other.toml\"\n";
  r = f.run({"--config", "hf.toml"});
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->find("unknown setting 'config_file'"), std::string::npos) << *r.error;

  fixture missing;
  missing.env["ENV_FILE"] = "dev.env";
  r = missing.run({});
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->find("put it in dev.env"), std::string::npos) << *r.error;
  missing.env["JWT_SECRET"] = "short";
  r = missing.run({"--threads", "0"});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_GE(r.cfg.threads, 1u);  // 0 means one per core
}

TEST(Settings, RedisUrlAndNodeIdAreCheckedBeforeStart) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  for (std::string bad : {"redis://", "redis://host:70000", "redis://host:x", "http://h:1"}) {
    auto r = f.run({"--redis-url", bad});
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->rfind("REDIS_URL: ", 0), 0u) << *r.error;
  }
  for (std::string bad :
       std::vector<std::string>{"a b", std::string(65, 'n'), "caf\xc3\xa9", "tab\t"}) {
    auto r = f.run({"--node-id", bad});
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->rfind("NODE_ID: ", 0), 0u) << *r.error;
  }
  auto r = f.run({"--redis-url", "redis://10.0.0.5:6380/0", "--node-id", "eu-1.node:a"});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.cfg.node_id, "eu-1.node:a");
  redis_endpoint ep;
  ASSERT_TRUE(parse_redis_url(r.cfg.redis_url, ep));
  EXPECT_EQ(ep.host, "10.0.0.5");
  EXPECT_EQ(ep.port, 6380);
  ASSERT_TRUE(parse_redis_url("redis://cache", ep));
  EXPECT_EQ(ep.port, 6379);
}
