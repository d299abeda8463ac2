#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pisock {

// text broken at spaces (not within "double quotes" or parentheses) into lines of at most width bytes (a longer word gets a line of its
// own), each line after the first indented by indent spaces; existing line breaks are kept.
std::string wrapText(std::string_view text, std::size_t width, std::size_t indent);

} // namespace pisock
