#include "config_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "exit_code.h"
#include "options.h"

namespace pisock {

namespace {

constexpr std::string_view kBom = "\xef\xbb\xbf";
constexpr std::string_view kBlanks = " \t";

std::string_view trimBlanks(std::string_view s)
{
    const auto first = s.find_first_not_of(kBlanks);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(kBlanks) - first + 1);
}

bool startsComment(char c)
{
    return c == '#' || c == ';';
}

bool validKey(std::string_view key)
{
    return !key.empty() && key.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
                                   std::string_view::npos;
}

// The value after "key =": quoted or not, without its comment. Returns "" or why it is wrong.
std::string parseValue(std::string_view text, std::string &value)
{
    text = trimBlanks(text);
    if (!text.starts_with('"')) {
        // Unquoted: up to a comment, less the blanks before it.
        std::size_t end = 0;
        while (end < text.size() && !startsComment(text[end]))
            ++end;
        value = trimBlanks(text.substr(0, end));
        return {};
    }
    value.clear();
    std::size_t i = 1;
    for (; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size())
            ++i;
        value.push_back(text[i]);
    }
    if (i >= text.size())
        return "unterminated quote (a quoted value ends with \" on the same line)";
    const std::string_view rest = trimBlanks(text.substr(i + 1));
    if (!rest.empty() && !startsComment(rest.front()))
        return fmt::format("text after the closing quote: '{}'", rest);
    return {};
}

// A section header line: only "[pisockd]", perhaps with a comment after it.
std::string checkSection(std::string_view line)
{
    const auto close = line.find(']');
    const std::string_view rest = close == std::string_view::npos
                                          ? std::string_view()
                                          : trimBlanks(line.substr(close + 1));
    if (close == std::string_view::npos || (!rest.empty() && !startsComment(rest.front())))
        return fmt::format("expected a section header [pisockd], got '{}'", line);
    const std::string_view name = trimBlanks(line.substr(0, close + 1));
    if (name != "[pisockd]")
        return fmt::format("unknown section {} (only [pisockd])", name);
    return {};
}

} // namespace

std::optional<std::string> readConfigFile(const std::string &path)
{
    auto fail = [&](const std::string &why) {
        return OptionError(kExitConfig, fmt::format("{}: {}", path, why));
    };
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        const int err = errno;
        struct stat st {
        };
        if (err == ENOENT && ::lstat(path.c_str(), &st) == 0)
            throw fail("a symbolic link to a file that does not exist");
        if (err == ENOENT)
            return std::nullopt;
        throw fail(fmt::format("cannot open: {}", errnoText(err)));
    }
    struct stat st {
    };
    if (::fstat(fd.get(), &st) != 0)
        throw fail(fmt::format("cannot read: {}", errnoText(errno)));
    if (S_ISDIR(st.st_mode))
        throw fail("is a directory, not a configuration file");
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
        throw fail("is not a regular file");
    std::string text;
    char block[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), block, sizeof(block));
        if (n == 0)
            return text;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) // never taken for the end of the file: that would drop the rest of it
            throw fail(fmt::format("read error after {} bytes: {}", text.size(), errnoText(errno)));
        if (text.size() + static_cast<std::size_t>(n) > kMaxConfigSize)
            throw fail(fmt::format("larger than {} bytes", kMaxConfigSize));
        text.append(block, static_cast<std::size_t>(n));
    }
}

std::vector<ConfigEntry> parseConfigText(std::string_view text, const std::string &name)
{
    if (text.starts_with(kBom))
        text.remove_prefix(kBom.size()); // Notepad's UTF-8 mark: not part of the first line
    std::vector<ConfigEntry> entries;
    unsigned lineNo = 0;
    while (!text.empty()) {
        ++lineNo;
        const auto nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        auto fail = [&](const std::string &why) {
            return OptionError(kExitConfig, fmt::format("{}:{}: {}", name, lineNo, why));
        };
        if (raw.find('\0') != std::string_view::npos)
            throw fail("NUL byte: a configuration file is text");
        if (raw.ends_with('\r'))
            raw.remove_suffix(1); // CRLF line ends
        const std::string_view line = trimBlanks(raw);
        if (line.empty() || startsComment(line.front()))
            continue;
        if (line.front() == '[') {
            if (auto why = checkSection(line); !why.empty())
                throw fail(why);
            continue;
        }
        const auto eq = line.find('=');
        const std::string_view key = trimBlanks(line.substr(0, eq));
        if (eq == std::string_view::npos || !validKey(key))
            throw fail(fmt::format("expected KEY = VALUE, got '{}'", line));
        ConfigEntry entry{ lineNo, std::string(key), {} };
        if (auto why = parseValue(line.substr(eq + 1), entry.value); !why.empty())
            throw fail(fmt::format("{}: {}", key, why));
        entries.push_back(std::move(entry));
    }
    return entries;
}

} // namespace pisock
