// The developer console's files (clients/console/ and the SDK from
// clients/js/src/), embedded at build time by cmake/embed.cmake.
#pragma once

#include <string_view>

namespace hf::http::console_assets {

extern const std::string_view index_html;  // clients/console/index.html
extern const std::string_view app_js;      // clients/console/app.js
extern const std::string_view sdk_js;      // clients/js/src/index.js

}  // namespace hf::http::console_assets
