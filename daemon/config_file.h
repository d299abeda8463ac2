#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/units.h"

namespace pisock {

// The configuration file, read and split into entries; what the keys mean is options.cpp's.
// Everything here fails closed: anything that is not plainly a readable text file of
// "key = value" lines is an error (OptionError, exit status 78), never an empty or shorter file.

inline constexpr std::size_t kMaxConfigSize = kMiB;

// Reads the file at path whole, with open/fstat/read: nothing when there is no file (ENOENT);
// throws OptionError(78) "PATH: why" for a directory, anything but a regular file or a
// character device (/dev/null), a dangling symbolic link, an unreadable file, a read error at
// any point, or more than kMaxConfigSize bytes. Opened non-blocking: no file can hang the
// daemon's loop during a reload (a FIFO is refused, a terminal fails to read).
std::optional<std::string> readConfigFile(const std::string &path);

// One "key = value" line as written.
struct ConfigEntry {
    unsigned line = 0;
    std::string key;
    std::string value; // unquoted, its comment removed
};

// Splits the text of a configuration file (named name in errors) into its entries, in order.
// The format (pisockd.conf(5)): a UTF-8 byte-order mark at the start is skipped; "key = value"
// lines; blank lines; "#" or ";" outside double quotes starts a comment, at the start of a line
// or after a value; an optional "[pisockd]" section header; a value in double quotes keeps its
// spaces, "#" and ";", and a backslash there makes the next character literal. Throws
// OptionError(78) "NAME:LINE: why" for a NUL byte, an unterminated quote, text after the
// closing quote, a line that is not "key = value", or another section.
std::vector<ConfigEntry> parseConfigText(std::string_view text, const std::string &name);

} // namespace pisock
