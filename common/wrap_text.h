#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pisock {

// The columns text takes on a terminal in the current locale: two for a Chinese character,
// none for a combining mark, one for a byte that is not a character (in the C locale, every
// byte of UTF-8).
std::size_t displayWidth(std::string_view text);

// text broken into lines of at most width columns (displayWidth()), each line after the
// first indented by indent spaces; existing line breaks are kept. Lines break at spaces, not
// within "double quotes" or (parentheses), and around wide (Chinese) characters, which have
// no spaces between them, but not before closing punctuation or after opening punctuation
// (，。）and （). A word longer than width gets a line of its own.
std::string wrapText(std::string_view text, std::size_t width, std::size_t indent);

} // namespace pisock
