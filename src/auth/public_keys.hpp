// Public keys for RS256 and ES256 tokens (docs/protocol.md section 9): read from a
// PEM file or a JWKS document, and the signature checks themselves, all with
// OpenSSL's EVP interface (no hand-written crypto). Pure: bytes in, keys out;
// a key is immutable once made, and safe to use from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace hf::auth {

enum class key_type { rsa, ec_p256 };

struct public_key {
  std::string kid;  // empty: the key has none (a PEM file)
  key_type type = key_type::rsa;
  std::shared_ptr<EVP_PKEY> pkey;
};

// The keys of a JWKS document ({"keys":[...]}, RFC 7517): RSA keys (kty RSA,
// n and e, a modulus of 2048 to 8192 significant bits) and P-256 EC keys (kty EC, crv P-256, x and
// y). Entries for other key types or curves, for another use than "sig", with an "alg" that does
// not fit the key (RS256 for RSA, ES256 for EC), or malformed, are skipped
// and counted. `error` is set when the document itself is unusable.
struct jwks_keys {
  std::vector<public_key> keys;
  std::size_t skipped = 0;
  std::optional<std::string> error;
};
jwks_keys parse_jwks(std::string_view json);

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) of an RSA or P-256 EC key;
// nullopt, with `why` set, for anything else.
std::optional<public_key> parse_pem_public_key(std::string_view pem, std::string& why);

// RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: ECDSA P-256 with SHA-256,
// `signature` being the JWS form (r and s, 32 bytes each). False for a
// signature that does not verify, or one that does not fit the key.
bool verify_signature(const public_key& key, std::string_view signing_input,
                      std::string_view signature);

}  // namespace hf::auth
