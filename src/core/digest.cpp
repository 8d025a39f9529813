#include "core/digest.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <string>

namespace hf::core {
namespace {

// One algorithm and one context per thread, reused for every digest.
class digester {
 public:
  explicit digester(const char* name)
      : md_(EVP_MD_fetch(nullptr, name, nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~digester() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  digester(const digester&) = delete;
  digester& operator=(const digester&) = delete;

  // False if OpenSSL refused (then the caller takes the one-shot path).
  bool digest(std::string_view a, std::string_view b, unsigned char* out) noexcept {
    unsigned int len = 0;
    return md_ && ctx_ && EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
           EVP_DigestUpdate(ctx_, a.data(), a.size()) == 1 &&
           (b.empty() || EVP_DigestUpdate(ctx_, b.data(), b.size()) == 1) &&
           EVP_DigestFinal_ex(ctx_, out, &len) == 1;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

const unsigned char* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::optional<sha1_digest> sha1(std::string_view a, std::string_view b) {
  thread_local digester d("SHA1");
  sha1_digest out{};
  if (d.digest(a, b, out.data())) return out;
  // (Not expected: the one-shot path.)
  std::string both(a);
  both.append(b);
  if (!SHA1(bytes(both), both.size(), out.data())) return std::nullopt;
  return out;
}

std::optional<sha256_digest> sha256(std::string_view data) noexcept {
  thread_local digester d("SHA256");
  sha256_digest out{};
  if (d.digest(data, {}, out.data())) return out;
  if (!SHA256(bytes(data), data.size(), out.data())) return std::nullopt;
  return out;
}

}  // namespace hf::core
