#include "room_names.h"

#include <algorithm>

namespace pisock {

namespace {

constexpr std::size_t kMaxName = 32;
constexpr std::string_view kCommand = "name:";

bool nameChar(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

char lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

std::optional<std::string_view> nameCommand(std::string_view message) noexcept
{
    if (!message.starts_with(kCommand))
        return std::nullopt;
    std::string_view name = message.substr(kCommand.size());
    while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
    return name;
}

std::string_view nameProblem(std::string_view name) noexcept
{
    if (name.empty() || name.size() > kMaxName || !std::all_of(name.begin(), name.end(), nameChar))
        return "error: invalid name (1 to 32 letters, digits, '-', '_' or '.')\n";
    const bool numeric = std::all_of(name.begin(), name.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    const bool unixName = name.size() == 4 &&
                          std::equal(name.begin(), name.end(), "unix",
                                     [](char a, char b) { return lower(a) == b; });
    if (numeric || unixName)
        return "error: invalid name (it looks like an address)\n";
    return {};
}

std::string nameKey(std::string_view name)
{
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(), lower);
    return key;
}

std::string nameLine(std::string_view name)
{
    std::string line(kCommand);
    line += ' ';
    line += name;
    line += '\n';
    return line;
}

} // namespace pisock
