#include "auth/public_keys.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "auth/base64url.hpp"
#include "core/js_json.hpp"

namespace hf::auth {
namespace {

// JWKS documents are small (a few keys); anything much larger is refused
// before parsing.
constexpr std::size_t max_jwks_bytes = 1 << 20;
// RSA moduli from 2048 to 8192 bits (smaller ones are breakable, larger ones
// only cost verification time), counted in significant bits: leading zero
// bytes do not make a 1024-bit modulus a 2048-bit one.
constexpr int min_rsa_bits = 2048, max_rsa_bits = 8192;
// The encoded modulus may carry one leading zero byte (a two's-complement
// habit of some encoders); anything longer is refused unread.
constexpr std::size_t max_rsa_bytes = max_rsa_bits / 8 + 1;

std::shared_ptr<EVP_PKEY> owned(EVP_PKEY* k) { return {k, EVP_PKEY_free}; }

// Builds a key from OpenSSL parameters (`type` "RSA" or "EC").
EVP_PKEY* from_params(const char* type, OSSL_PARAM* params) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  return key;
}

std::shared_ptr<EVP_PKEY> rsa_key(const std::string& n, const std::string& e) {
  if (n.empty() || n.size() > max_rsa_bytes || e.empty() || e.size() > 8) return nullptr;
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY* key = nullptr;
  if (bn_n && bn_e && bld && BN_num_bits(bn_n) >= min_rsa_bits &&
      BN_num_bits(bn_n) <= max_rsa_bits &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(bld)))
    key = from_params("RSA", params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return key ? owned(key) : nullptr;
}

std::shared_ptr<EVP_PKEY> p256_key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = from_params("EC", params);
  if (!key) return nullptr;
  // The point must be on the curve: OpenSSL checks it here.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  bool ok = check && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!ok) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return owned(key);
}

std::optional<std::string> b64_member(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return base64url_decode(v->get_string());
}

std::string string_member(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<key_type> type_of(EVP_PKEY* k) {
  if (EVP_PKEY_is_a(k, "RSA")) {
    int bits = EVP_PKEY_get_bits(k);
    if (bits < min_rsa_bits || bits > max_rsa_bits) return std::nullopt;
    return key_type::rsa;
  }
  if (EVP_PKEY_is_a(k, "EC")) {
    char group[64];
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) ==
            1 &&
        std::string_view(group, len) == "prime256v1")
      return key_type::ec_p256;
  }
  return std::nullopt;
}

}  // namespace

jwks_keys parse_jwks(std::string_view json) {
  jwks_keys out;
  if (json.size() > max_jwks_bytes) {
    out.error = "JWKS larger than 1 MiB";
    return out;
  }
  auto doc = core::parse_json(json);
  const boost::json::object* root = doc ? doc->if_object() : nullptr;
  const boost::json::value* keys = root ? root->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array()) {
    out.error = "not a JWKS document (no \"keys\" array)";
    return out;
  }
  for (const auto& entry : keys->get_array()) {
    const boost::json::object* k = entry.if_object();
    if (!k) {
      ++out.skipped;
      continue;
    }
    std::string kty = string_member(*k, "kty"), use = string_member(*k, "use"),
                alg = string_member(*k, "alg");
    public_key key;
    key.kid = string_member(*k, "kid");
    if (!use.empty() && use != "sig") {
      ++out.skipped;
      continue;
    }
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      auto n = b64_member(*k, "n"), e = b64_member(*k, "e");
      if (n && e) key.pkey = rsa_key(*n, *e);
      key.type = key_type::rsa;
    } else if (kty == "EC" && string_member(*k, "crv") == "P-256" &&
               (alg.empty() || alg == "ES256")) {
      auto x = b64_member(*k, "x"), y = b64_member(*k, "y");
      if (x && y) key.pkey = p256_key(*x, *y);
      key.type = key_type::ec_p256;
    }
    if (!key.pkey) {
      ++out.skipped;
      continue;
    }
    out.keys.push_back(std::move(key));
  }
  return out;
}

std::optional<public_key> parse_pem_public_key(std::string_view pem, std::string& why) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!k) {
    why = "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
    return std::nullopt;
  }
  auto type = type_of(k);
  if (!type) {
    EVP_PKEY_free(k);
    why = "neither an RSA key of 2048 to 8192 bits nor a P-256 EC key";
    return std::nullopt;
  }
  return public_key{{}, *type, owned(k)};
}

bool verify_signature(const public_key& key, std::string_view signing_input,
                      std::string_view signature) {
  std::string der;
  const unsigned char* sig = reinterpret_cast<const unsigned char*>(signature.data());
  std::size_t sig_len = signature.size();
  if (key.type == key_type::ec_p256) {
    // JWS carries r || s; EVP wants a DER ECDSA-Sig-Value.
    if (signature.size() != 64) return false;
    ECDSA_SIG* s = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(sig, 32, nullptr);
    BIGNUM* ss = BN_bin2bn(sig + 32, 32, nullptr);
    if (!s || !r || !ss || ECDSA_SIG_set0(s, r, ss) != 1) {
      BN_free(r);
      BN_free(ss);
      ECDSA_SIG_free(s);
      return false;
    }
    int len = i2d_ECDSA_SIG(s, nullptr);
    der.resize(len > 0 ? static_cast<std::size_t>(len) : 0);
    unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
    if (len <= 0 || i2d_ECDSA_SIG(s, &p) != len) {
      ECDSA_SIG_free(s);
      return false;
    }
    ECDSA_SIG_free(s);
    sig = reinterpret_cast<const unsigned char*>(der.data());
    sig_len = der.size();
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
            EVP_DigestVerify(ctx, sig, sig_len,
                             reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace hf::auth
