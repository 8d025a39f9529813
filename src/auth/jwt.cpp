#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>

#include "auth/base64url.hpp"
#include "core/js_json.hpp"
#include "core/text.hpp"

namespace hf::auth {
namespace {

// Decodes one base64url part of the token into a JSON object.
// `sp`: where the object lives (verify() gives a buffer on its stack).
result<boost::json::object> decode_object(std::string_view part, boost::json::storage_ptr sp) {
  thread_local std::string raw;  // reused: decoding allocates nothing
  if (!base64url_decode_into(part, raw)) return errc::token_malformed;
  auto v = core::parse_json(raw, std::move(sp));
  if (!v || !v->is_object()) return errc::token_malformed;
  return std::move(v->get_object());
}

// A NumericDate claim (exp/nbf/iat): absent is fine; present must be a number.
bool numeric_claim(const boost::json::object& claims, std::string_view name, double& out,
                   bool& present) {
  const boost::json::value* v = claims.if_contains(name);
  present = v != nullptr;
  if (!v) return true;
  auto n = core::json_number(*v);
  if (n) out = *n;
  return n.has_value();
}

// RFC 7515 4.1.9: "application/" may be omitted; media types compare
// case-insensitively.
bool typ_is(std::string_view typ, std::string_view want) {
  if (core::istarts_with(typ, "application/")) typ.remove_prefix(12);
  return core::iequals(typ, want);
}

// RFC 7519 4.1.3: `aud` is one string or an array of strings; a member of
// another type makes the claim invalid even when another member matches.
bool audience_contains(const boost::json::value& aud, std::string_view want) {
  if (aud.is_string()) return aud.get_string() == want;
  if (!aud.is_array()) return false;
  bool found = false;
  for (const auto& a : aud.get_array()) {
    if (!a.is_string()) return false;
    found = found || a.get_string() == want;
  }
  return found;
}

}  // namespace

bool jwt_verifier::issued_for_us(const boost::json::object& claims) const {
  if (!opt_.issuer.empty()) {
    const boost::json::value* iss = claims.if_contains("iss");
    if (!iss || !iss->is_string() || iss->get_string() != opt_.issuer) return false;
  }
  if (!opt_.audience.empty()) {
    const boost::json::value* aud = claims.if_contains("aud");
    if (!aud || !audience_contains(*aud, opt_.audience)) return false;
  }
  return true;
}

namespace {

// OpenSSL 3's one-shot HMAC() looks the algorithm up on every call (provider
// locks, allocations): a fifth of an upgrade's user-space time. Here each
// thread keeps contexts with the algorithm fetched and the digest named once
// (naming it on every call fetches it again), keyed for the two keys it saw
// last (JWT_SECRET and PUBLISH_SECRET): a check with the same key restarts
// from the keyed state (EVP_MAC_init without a key) instead of re-keying,
// two allocations inside OpenSSL instead of five.
class hmac_context {
 public:
  hmac_context() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) return;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    for (slot& s : slots_) {
      s.ctx = EVP_MAC_CTX_new(mac);  // holds its own reference to mac
      if (s.ctx && EVP_MAC_CTX_set_params(s.ctx, params) != 1) {
        EVP_MAC_CTX_free(s.ctx);
        s.ctx = nullptr;  // the one-shot path
      }
    }
    EVP_MAC_free(mac);
  }
  ~hmac_context() {
    for (slot& s : slots_) {
      EVP_MAC_CTX_free(s.ctx);
      OPENSSL_cleanse(s.key.data(), s.key.size());
    }
  }
  hmac_context(const hmac_context&) = delete;
  hmac_context& operator=(const hmac_context&) = delete;

  // A context keyed with `key`, or nullptr if OpenSSL refused.
  EVP_MAC_CTX* keyed(std::string_view key) {
    slot* to_key = nullptr;
    for (slot& s : slots_)
      if (s.ctx && s.keyed && s.key == key) {
        if (EVP_MAC_init(s.ctx, nullptr, 0, nullptr) == 1) return s.ctx;
        to_key = &s;  // could not restart: keyed again in place
      }
    if (!to_key) {
      to_key = &slots_[next_];
      next_ = (next_ + 1) % slots_.size();
    }
    slot& s = *to_key;
    if (!s.ctx) return nullptr;
    static const unsigned char none = 0;
    const auto* bytes = key.empty() ? &none : reinterpret_cast<const unsigned char*>(key.data());
    OPENSSL_cleanse(s.key.data(), s.key.size());
    s.key.assign(key);
    s.keyed = EVP_MAC_init(s.ctx, bytes, key.size(), nullptr) == 1;
    return s.keyed ? s.ctx : nullptr;
  }

 private:
  struct slot {
    EVP_MAC_CTX* ctx = nullptr;
    std::string key;
    bool keyed = false;
  };
  std::array<slot, 2> slots_;
  std::size_t next_ = 0;
};

}  // namespace

std::optional<std::array<unsigned char, 32>> hmac_sha256_bytes(std::string_view key,
                                                               std::string_view data) {
  thread_local hmac_context context;
  std::array<unsigned char, 32> md{};
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = context.keyed(key);
  if (ctx &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, md.data(), &len, md.size()) == 1 && len == md.size())
    return md;
  // (Not expected: the one-shot path, as before; and if that fails too, no
  // MAC: a signature never matches one OpenSSL could not compute.)
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int one_shot = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &one_shot) ||
      one_shot != md.size())
    return std::nullopt;
  std::copy_n(out, md.size(), md.begin());
  return md;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  auto md = hmac_sha256_bytes(key, data);
  if (!md) return {};
  return std::string(reinterpret_cast<const char*>(md->data()), md->size());
}

jwt_verifier::jwt_verifier(std::string secret)
    : jwt_verifier(verifier_options{std::move(secret), {}, "userId", {}, {}}) {}

jwt_verifier::jwt_verifier(verifier_options options)
    : opt_(std::move(options)), keys_(std::make_shared<const std::vector<public_key>>()) {}

void jwt_verifier::set_keys(std::vector<public_key> keys) {
  auto next = std::make_shared<const std::vector<public_key>>(std::move(keys));
  {
    std::lock_guard lock(keys_mutex_);
    keys_ = std::move(next);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::size_t jwt_verifier::key_count() const {
  std::lock_guard lock(keys_mutex_);
  return keys_->size();
}

result<principal> jwt_verifier::verify(std::string_view token, std::int64_t now) const {
  if (token.empty()) return errc::token_missing;
  std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return errc::token_malformed;
  std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return errc::token_malformed;

  // The header and the claims live in this buffer (a usual token's fit:
  // no allocation); a larger token's spill to the heap.
  alignas(std::max_align_t) unsigned char json_buffer[2048];
  boost::json::monotonic_resource json_memory(json_buffer, sizeof json_buffer);
  boost::json::storage_ptr sp(&json_memory);
  auto header = decode_object(token.substr(0, d1), sp);
  if (!header) return header.error();
  const boost::json::value* alg_v = header->if_contains("alg");
  std::string_view alg = alg_v && alg_v->is_string() ? std::string_view(alg_v->get_string()) : "";
  bool hs256 = alg == "HS256";
  std::optional<key_type> asymmetric;
  if (alg == "RS256") asymmetric = key_type::rsa;
  if (alg == "ES256") asymmetric = key_type::ec_p256;
  // HS256 needs a secret; RS256/ES256 a key of their kind: a public key is
  // never used as an HMAC secret, and a secret never checks RS/ES tokens.
  std::shared_ptr<const std::vector<public_key>> keys;
  if (asymmetric) {
    std::lock_guard lock(keys_mutex_);
    keys = keys_;
  }
  bool have_kind = asymmetric && std::any_of(keys->begin(), keys->end(),
                                             [&](const auto& k) { return k.type == *asymmetric; });
  // With no key of its kind, an RS256/ES256 token that names a kid is still
  // looked at when a JWKS source can fetch keys (on_unknown_kid): the
  // provider may have moved from RS256 to ES256, or been down at start. Its
  // kid then prompts a fetch below, like any unknown kid.
  const boost::json::value* kid_v = header->if_contains("kid");
  bool fits = hs256 ? !opt_.secret.empty() || !opt_.publish_secret.empty()
                    : asymmetric && (have_kind || (kid_v && unknown_kid_));
  if (!fits) return errc::token_unsupported_alg;
  if (header->contains("crit")) return errc::token_crit;
  const boost::json::value* typ = header->if_contains("typ");
  // RFC 9068 access tokens (at+jwt) come from identity providers: allowed
  // for RS256/ES256 only, as docs/protocol.md section 9 says.
  if (!typ || !typ->is_string() ||
      !(typ_is(typ->get_string(), "jwt") || (asymmetric && typ_is(typ->get_string(), "at+jwt"))))
    return errc::token_bad_typ;
  // RFC 7515 4.1.4: kid is a string. Any other JSON value is not an empty
  // kid (which would select kid-less keys) but a malformed header.
  if (asymmetric && kid_v && !kid_v->is_string()) return errc::token_malformed;

  // Signature before payload: nothing from an unauthenticated payload is trusted.
  thread_local std::string signature;  // reused: decoding allocates nothing
  if (!base64url_decode_into(token.substr(d2 + 1), signature)) return errc::token_malformed;
  const std::string* sig = &signature;
  std::string_view input = token.substr(0, d2);
  bool publisher = false;
  if (hs256) {
    auto matches = [&](const std::string& key) {
      if (key.empty()) return false;
      auto expected = hmac_sha256_bytes(key, input);
      return expected && sig->size() == expected->size() &&
             CRYPTO_memcmp(sig->data(), expected->data(), expected->size()) == 0;
    };
    publisher = matches(opt_.publish_secret);
    if (!publisher && !matches(opt_.secret)) return errc::token_bad_signature;
  } else {
    std::string_view kid = kid_v ? std::string_view(kid_v->get_string()) : "";
    bool named = false, ok = false;
    for (const auto& k : *keys) {
      if (k.type != *asymmetric || (kid_v && k.kid != kid)) continue;
      named = true;
      if (verify_signature(k, input, *sig)) {
        ok = true;
        break;
      }
    }
    if (kid_v && !named) {  // a key we do not have (yet): maybe the JWKS rotated
      if (unknown_kid_) unknown_kid_();
      return errc::token_unknown_kid;
    }
    if (!ok) return errc::token_bad_signature;
  }

  auto claims = decode_object(token.substr(d1 + 1, d2 - d1 - 1), sp);
  if (!claims) return claims.error();
  double exp = 0, nbf = 0, iat = 0;
  bool has_exp, has_nbf, has_iat;
  if (!numeric_claim(*claims, "exp", exp, has_exp) ||
      !numeric_claim(*claims, "nbf", nbf, has_nbf) || !numeric_claim(*claims, "iat", iat, has_iat))
    return errc::token_bad_claim;
  if (has_exp && exp <= static_cast<double>(now)) return errc::token_expired;
  if (has_nbf && nbf > static_cast<double>(now)) return errc::token_not_yet_valid;

  // JWT_ISSUER / JWT_AUDIENCE, when set, for end-user tokens only: a
  // publisher token is signed with the server's own PUBLISH_SECRET.
  if (!publisher && !issued_for_us(*claims)) return errc::token_bad_claim;

  principal p;
  p.publisher = publisher;
  if (!publisher) {
    auto user = core::trimmed_string_member(*claims, opt_.user_claim);
    if (!user) return errc::token_no_user;
    p.user_id.assign(*user);
    if (const boost::json::value* d = claims->if_contains("device")) {
      const boost::json::string* s = d->if_string();
      if (!s || !core::printable_token(*s, 64)) return errc::token_bad_device;
      p.device = std::make_shared<const std::string>(s->data(), s->size());
    }
  }
  if (has_exp) p.expires_at = exp >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(std::ceil(exp));
  return p;
}

std::string mint_hs256(std::string_view secret, const boost::json::object& claims) {
  std::string signing_input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  signing_input.push_back('.');
  signing_input.append(base64url_encode(boost::json::serialize(claims)));
  std::string sig = base64url_encode(hmac_sha256(secret, signing_input));
  signing_input.push_back('.');
  signing_input.append(sig);
  return signing_input;
}

}  // namespace hf::auth
