#include "config/config.hpp"

#include <gtest/gtest.h>

#include <map>

#include "load_fixture.hpp"

using namespace hf::config;

namespace {
using hf::config::test_support::fixture;
using hf::config::test_support::long_secret;
}  // namespace

TEST(Config, SecretIsRequired) {
  fixture f;
  auto r = f.run({});
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->find("JWT_SECRET"), std::string::npos);
}

TEST(Config, DefaultsAndShortSecretWarning) {
  fixture f;
  f.env["JWT_SECRET"] = "short";
  auto r = f.run({});
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.cfg.host, "127.0.0.1");
  EXPECT_EQ(r.cfg.port, 8787);
  EXPECT_EQ(r.cfg.ack_timeout.count(), 5000);
  EXPECT_GE(r.cfg.threads, 1u);
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(Config, PrecedenceFlagOverEnvOverFile) {
  fixture f;
  f.files[".env"] =
      "# dev\nexport JWT_SECRET=\"" + long_secret + "\"\nPORT=1000\nHOST=0.0.0.0\nTHREADS=3\n";
  f.env["PORT"] = "2000";
  auto r = f.run({"--port", "3000"});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.cfg.port, 3000);
  EXPECT_EQ(r.cfg.host, "0.0.0.0");
  EXPECT_EQ(r.cfg.threads, 3u);
  EXPECT_EQ(r.cfg.jwt_secret, long_secret);
  EXPECT_TRUE(r.warnings.empty());
  r = f.run({});
  EXPECT_EQ(r.cfg.port, 2000);
  r = f.run({"--ack-timeout-ms=250", "--env-file", "missing"});
  EXPECT_TRUE(r.error);  // the secret lived in .env, which is no longer read
  f.env["JWT_SECRET"] = long_secret;
  r = f.run({"--ack-timeout-ms=250", "--env-file", "missing"});
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.cfg.ack_timeout.count(), 250);
  EXPECT_EQ(r.cfg.port, 2000);
}

TEST(Config, BadValuesAreOneLineErrors) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  for (auto args : std::vector<std::vector<std::string>>{{"--port", "70000"},
                                                         {"--port", "x"},
                                                         {"--threads", "-1"},
                                                         {"--nope", "1"},
                                                         {"--port"},
                                                         {"--log-level", "loud"},
                                                         {"--max-body-bytes", "1"}}) {
    auto r = f.run(args);
    ASSERT_TRUE(r.error) << args[0];
    EXPECT_EQ(r.error->find('\n'), std::string::npos);
  }
}

TEST(Config, EveryNumericSettingIsParsedAndChecked) {
  // A documented setting that the loader forgot would accept "x" silently.
  for (const auto& d : settings()) {
    // Free text: any value is one (files are read, and refused, at start).
    if (d.env == "JWT_SECRET" || d.env == "HOST" || d.env == "ENV_FILE" || d.env == "NODE_ID" ||
        d.env == "CONFIG_FILE" || d.env == "TLS_CERT_FILE" || d.env == "TLS_KEY_FILE" ||
        d.env == "PUBLISH_SECRET" || d.env == "USER_CLAIM" || d.env == "JWT_PUBLIC_KEY_FILE" ||
        d.env == "JWKS_FILE" || d.env == "JWT_ISSUER" || d.env == "JWT_AUDIENCE")
      continue;
    fixture f;
    f.env["JWT_SECRET"] = long_secret;
    f.env[d.env] = "x";
    auto r = f.run({});
    ASSERT_TRUE(r.error) << d.env;
    EXPECT_NE(r.error->find(d.env), std::string::npos) << *r.error;
  }
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  f.env["REQUEST_TIMEOUT_MS"] = "700";
  f.env["MAX_SOCKETS_PER_USER"] = "3";
  f.env["DRAIN_SPREAD_MS"] = "0";
  auto r = f.run({"--max-connections", "9", "--heartbeat-interval-ms=0"});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.cfg.request_timeout.count(), 700);
  EXPECT_EQ(r.cfg.max_sockets_per_user, 3u);
  EXPECT_EQ(r.cfg.max_connections, 9u);
  EXPECT_EQ(r.cfg.heartbeat_interval.count(), 0);
  EXPECT_EQ(r.cfg.drain_spread.count(), 0);
}

TEST(Config, TomlFileHasTheLowestPrecedence) {
  fixture f;
  f.files["hf.toml"] =
      "jwt_secret = \"" + long_secret + "\"\nport = 9000\nthreads = 3\nredis_required = false\n";
  f.env["CONFIG_FILE"] = "hf.toml";
  f.files[".env"] = "THREADS=4\n";
  auto r = f.run({});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.cfg.port, 9000);
  EXPECT_EQ(r.cfg.threads, 4u);  // .env beats the file
  EXPECT_EQ(r.cfg.jwt_secret, long_secret);
  r = f.run({"--port", "9001"});
  EXPECT_EQ(r.cfg.port, 9001);
  f.files["hf.toml"] = "prot = 1\n";
  r = f.run({});
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->find("unknown setting 'prot'"), std::string::npos);
  f.files["hf.toml"] = "port = [\n";
  r = f.run({});
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->find("hf.toml"), std::string::npos);
  r = f.run({"--config", "missing.toml"});
  ASSERT_TRUE(r.error);
  EXPECT_TRUE(f.run({"--check-config"}).check_only);
}

TEST(Config, HelpListsEverySettingWithDefault) {
  std::string h = help_text("prog");
  for (const auto& s : settings()) {
    EXPECT_NE(h.find(s.flag), std::string::npos) << s.flag;
    EXPECT_NE(h.find(s.env), std::string::npos) << s.env;
    EXPECT_NE(h.find("default " + s.default_value), std::string::npos) << s.env;
  }
  fixture f;
  EXPECT_TRUE(f.run({"--help"}).help);
}

// JWT_ISSUER / JWT_AUDIENCE: unset by default (no check), any text otherwise.
TEST(Config, IssuerAndAudienceAreOptIn) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  auto plain = f.run({});
  ASSERT_FALSE(plain.error) << *plain.error;
  EXPECT_EQ(plain.cfg.jwt_issuer, "");
  EXPECT_EQ(plain.cfg.jwt_audience, "");
  f.env["JWT_ISSUER"] = "https://idp.example/";
  auto r = f.run({"--jwt-audience", "realtime"});
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.cfg.jwt_issuer, "https://idp.example/");
  EXPECT_EQ(r.cfg.jwt_audience, "realtime");
  std::string shown = describe(r.cfg);
  EXPECT_NE(shown.find("JWT_ISSUER=https://idp.example/\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("JWT_AUDIENCE=realtime\n"), std::string::npos) << shown;
}

// JWKS_URL: a URL with user:password@ is refused at start (the fetcher sends
// no credentials, and they would end up in logs), without echoing them.
TEST(Config, JwksUrlWithCredentialsIsRefusedWithoutEchoingThem) {
  for (std::string url : {"https://user:s3cr3t@idp.example/jwks.json",
                          "http://s3cr3t@127.0.0.1:8080/jwks", "https://:s3cr3t@idp.example/"}) {
    fixture f;
    f.env["JWT_SECRET"] = long_secret;
    f.env["JWKS_URL"] = url;
    auto r = f.run({});
    ASSERT_TRUE(r.error) << url;
    EXPECT_NE(r.error->find("JWKS_URL"), std::string::npos) << *r.error;
    EXPECT_NE(r.error->find("credentials"), std::string::npos) << *r.error;
    EXPECT_EQ(r.error->find("s3cr3t"), std::string::npos) << *r.error;
  }
  for (std::string url :
       {"https://idp.example/jwks.json", "http://127.0.0.1:8080/jwks", "http://[::1]:8080/jwks"}) {
    fixture f;
    f.env["JWT_SECRET"] = long_secret;
    f.env["JWKS_URL"] = url;
    auto r = f.run({});
    EXPECT_FALSE(r.error) << url << ": " << *r.error;
  }
  // A URL that is not one at all is not echoed either when it has an '@'.
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  f.env["JWKS_URL"] = "ftp://user:s3cr3t@idp.example/";
  auto r = f.run({});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->find("s3cr3t"), std::string::npos) << *r.error;
}

// JWKS_REFRESH_MS: 10 s to one day, and --help says so.
TEST(Config, JwksRefreshRangeIsDocumented) {
  fixture f;
  f.env["JWT_SECRET"] = long_secret;
  f.env["JWKS_REFRESH_MS"] = "9999";
  EXPECT_TRUE(f.run({}).error);
  f.env["JWKS_REFRESH_MS"] = "86400001";
  EXPECT_TRUE(f.run({}).error);
  f.env["JWKS_REFRESH_MS"] = "86400000";
  EXPECT_FALSE(f.run({}).error);
  std::string help = help_text("hopeflow-realtime");
  std::size_t at = help.find("--jwks-refresh-ms");
  ASSERT_NE(at, std::string::npos);
  std::string row = help.substr(at, help.find("\n  --", at + 1) - at);
  EXPECT_NE(row.find("10 s"), std::string::npos) << row;
  EXPECT_NE(row.find("1 day"), std::string::npos) << row;
}

TEST(Config, HelpNamesEveryCommand) {
  const std::string help = help_text("prog");
  for (const char* command : {"prog [serve]", "prog token --user", "prog token --publisher",
                              "prog listen --user", "prog publish --user", "prog version"})
    EXPECT_NE(help.find(command), std::string::npos) << command;
}
