#include "http_head.h"

#include <algorithm>
#include <cstring>

namespace pisock::http {

namespace {

bool isSpace(char c) noexcept
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && isSpace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back()))
        s.remove_suffix(1);
    return s;
}

// Field values may hold any byte but the controls (a tab is allowed), DEL included.
bool isFieldValue(std::string_view s) noexcept
{
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return (b < 0x20 && c != '\t') || b == 0x7f;
    });
}

char lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

HeadScanner::Result HeadScanner::scan(Buffer &in, std::size_t &length) noexcept
{
    if (scanned_ == 0) {
        // Empty lines before a request line are tolerated (RFC 9112 2.2), within the bound.
        std::size_t blank = 0;
        while (blank < in.readable() && (in.data()[blank] == '\r' || in.data()[blank] == '\n'))
            ++blank;
        in.consume(blank);
        dropped_ += blank;
    }
    const char *base = in.data();
    const std::size_t size = in.readable();
    while (scanned_ < size) {
        const void *nl = std::memchr(base + scanned_, '\n', size - scanned_);
        if (!nl) {
            scanned_ = size;
            break;
        }
        const auto at = static_cast<std::size_t>(static_cast<const char *>(nl) - base);
        // The head ends at an empty line: "\n\n" or "\n\r\n". Wait to see what follows.
        if (at + 1 == size || (base[at + 1] == '\r' && at + 2 == size)) {
            scanned_ = at;
            break;
        }
        const std::size_t end = base[at + 1] == '\n'                           ? at + 2
                                : base[at + 1] == '\r' && base[at + 2] == '\n' ? at + 3
                                                                               : 0;
        if (end != 0 && dropped_ + end <= maxHead_) {
            length = end;
            scanned_ = 0;
            dropped_ = 0;
            return Result::Complete;
        }
        if (end != 0)
            return Result::TooLarge;
        scanned_ = at + 1;
    }
    return dropped_ + size >= maxHead_ ? Result::TooLarge : Result::NeedMore;
}

HeadReader::HeadReader(std::string_view head) noexcept : rest_(head)
{
    startLine_ = line();
}

std::string_view HeadReader::line() noexcept
{
    const std::size_t nl = rest_.find('\n');
    std::string_view l = rest_.substr(0, nl);
    rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
    if (!l.empty() && l.back() == '\r')
        l.remove_suffix(1);
    return l;
}

bool HeadReader::next(Field &field) noexcept
{
    if (error_ || rest_.empty())
        return false;
    const std::string_view l = line();
    if (l.empty())
        return false; // the empty line that ends the head
    if (isSpace(l.front())) {
        error_ = "folded header line";
        return false;
    }
    const std::size_t colon = l.find(':');
    if (colon == std::string_view::npos) {
        error_ = "header line without a colon";
        return false;
    }
    field.name = l.substr(0, colon);
    field.value = trim(l.substr(colon + 1));
    if (!isToken(field.name)) {
        error_ = "invalid header name";
        return false;
    }
    if (!isFieldValue(field.value)) {
        error_ = "control character in a header value";
        return false;
    }
    return true;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

bool hasToken(std::string_view list, std::string_view token) noexcept
{
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (equalsIgnoreCase(trim(list.substr(0, comma)), token))
            return true;
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    }
    return false;
}

bool isToken(std::string_view s) noexcept
{
    static constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               kPunctuation.find(c) != std::string_view::npos;
    });
}

} // namespace pisock::http
