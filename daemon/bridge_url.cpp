#include "bridge_url.h"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>

namespace pisock {

namespace {

constexpr std::size_t kMaxNodeName = 64;
constexpr std::size_t kMaxTopic = 200; // with "/NODE", well under MQTT's 65535

bool nodeChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool hostChar(char c)
{
    return nodeChar(c);
}

// A topic pisockd may publish under and subscribe below: levels separated by '/', none
// empty, no wildcard, no control character, not a $SYS-like system topic.
std::string topicProblem(std::string_view topic)
{
    if (topic.empty())
        return "the topic is missing (mqtt://HOST/TOPIC)";
    if (topic.size() > kMaxTopic)
        return "the topic is longer than 200 bytes";
    if (topic.front() == '$')
        return "a topic starting with '$' is the broker's own";
    if (topic.find_first_of("+#") != std::string_view::npos)
        return "the topic must not hold the wildcards '+' or '#'";
    if (topic.front() == '/' || topic.back() == '/' || topic.find("//") != std::string_view::npos)
        return "the topic has an empty level (a leading, trailing or double '/')";
    if (std::any_of(topic.begin(), topic.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return "the topic holds a control character";
    return {};
}

} // namespace

namespace {

// "USER@" taken off authority, if there is one; "" or why it is wrong.
std::string takeUser(std::string_view &authority, BridgeUrl &url)
{
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos)
        return {};
    url.user = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    if (url.user.empty() || url.user.find(':') != std::string::npos)
        return "the user must not be empty nor hold a password (use bridge-password-file)";
    if (std::any_of(url.user.begin(), url.user.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        return "the user holds a space or a control character";
    return {};
}

// HOST, [IPV6] and :PORT of what is left of authority; "" or why it is wrong.
std::string takeHostPort(std::string_view authority, BridgeUrl &url)
{
    bool hasPort = false;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return "an IPv6 address needs its closing ']'";
        url.host = authority.substr(1, close - 1);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, url.host.c_str(), &a6) != 1)
            return "not an IPv6 address between '[' and ']'";
        authority.remove_prefix(close + 1);
        if (!authority.empty() && !authority.starts_with(':'))
            return "text after the IPv6 address that is not :PORT";
        hasPort = !authority.empty();
        port = hasPort ? authority.substr(1) : authority;
    } else {
        const auto colon = authority.find(':');
        url.host = authority.substr(0, colon);
        hasPort = colon != std::string_view::npos;
        if (hasPort)
            port = authority.substr(colon + 1);
        if (url.host.empty() || url.host.size() > 253 ||
            !std::all_of(url.host.begin(), url.host.end(), hostChar))
            return "the host is not a name or an address (letters, digits, '.', '-')";
    }
    if (!hasPort)
        return {};
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
        return "the port is not a number from 1 to 65535";
    url.port = static_cast<std::uint16_t>(value);
    return {};
}

} // namespace

std::optional<BridgeUrl> parseBridgeUrl(std::string_view text, std::string &error)
{
    BridgeUrl url;
    if (text.starts_with("mqtt://")) {
        text.remove_prefix(7);
    } else if (text.starts_with("mqtts://")) {
        text.remove_prefix(8);
        url.tls = true;
        url.port = 8883;
    } else {
        error = "not an MQTT URL: mqtt://[USER@]HOST[:PORT]/TOPIC or mqtts://...";
        return std::nullopt;
    }
    const std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        error = "the topic is missing (mqtt://HOST/TOPIC)";
        return std::nullopt;
    }
    std::string_view authority = text.substr(0, slash);
    const std::string_view topic = text.substr(slash + 1);
    error = takeUser(authority, url);
    if (error.empty())
        error = takeHostPort(authority, url);
    if (error.empty())
        error = topicProblem(topic);
    if (!error.empty())
        return std::nullopt;
    url.topic = topic;
    return url;
}

std::string nodeNameProblem(std::string_view name)
{
    if (name.empty() || name.size() > kMaxNodeName)
        return "must be 1 to 64 bytes long";
    if (!std::all_of(name.begin(), name.end(), nodeChar))
        return "may hold only letters, digits, '.', '_' and '-'";
    return {};
}

std::string defaultNodeName(std::string_view hostName)
{
    std::string name(hostName.substr(0, kMaxNodeName));
    std::replace_if(
            name.begin(), name.end(), [](char c) { return !nodeChar(c); }, '-');
    return name.empty() ? "pisockd" : name;
}

} // namespace pisock
