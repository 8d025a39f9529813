#include "core/errors.hpp"

namespace hf {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hopeflow"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "ok";
      case errc::token_missing:
        return "no token";
      case errc::token_malformed:
        return "malformed token";
      case errc::token_unsupported_alg:
        return "unsupported alg";
      case errc::token_bad_typ:
        return "typ is not JWT";
      case errc::token_crit:
        return "crit header present";
      case errc::token_bad_signature:
        return "bad signature";
      case errc::token_expired:
        return "token expired";
      case errc::token_not_yet_valid:
        return "token not yet valid";
      case errc::token_bad_claim:
        return "a claim is invalid (exp/nbf/iat not numeric, or iss/aud not the configured ones)";
      case errc::token_no_user:
        return "user claim missing or blank";
      case errc::token_unknown_kid:
        return "unknown kid";
      case errc::token_publisher:
        return "publisher token";
      case errc::token_bad_device:
        return "device claim is not 1-64 printable ASCII characters";
      case errc::unsupported_media_type:
        return "Unsupported Media Type";
      case errc::invalid_json_body:
        return "Invalid JSON body";
      case errc::user_id_required:
        return "userId is required";
      case errc::invalid_user_ids:
        return "userIds must be an array of 1-1000 non-blank strings";
      case errc::invalid_ack_timeout:
        return "ackTimeoutMs must be a non-negative number";
      case errc::publish_forbidden:
        return "Forbidden";
      case errc::invalid_receipts:
        return "receipts must be a boolean";
      case errc::invalid_until:
        return "until must be \"all\", \"first\" or a positive integer";
      case errc::invalid_cancel:
        return "cancel must be a boolean";
      case errc::invalid_webhook:
        return "webhook must be a boolean";
      case errc::webhook_not_configured:
        return "webhook is not configured";
    }
    return "unknown hopeflow error";
  }
};

}  // namespace

const boost::system::error_category& hopeflow_category() noexcept {
  static const category c;
  return c;
}

}  // namespace hf
