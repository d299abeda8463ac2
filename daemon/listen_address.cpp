#include "listen_address.h"

namespace pisock {

namespace {

constexpr std::string_view kProxyOption = "proxy";
constexpr std::string_view kWebSocketPrefix = "ws:";

} // namespace

std::string ListenAddress::toString() const
{
    std::string text = endpoint.toString();
    if (proxy) {
        text += ',';
        text += kProxyOption;
    }
    return text;
}

std::optional<ListenAddress> parseListenAddress(std::string_view text, std::string &error)
{
    ListenAddress address;
    const bool unix = text.starts_with("unix:") || text.starts_with("ws:unix:");
    // Options come last; an inet address never holds a comma, so any comma there starts one.
    for (auto comma = text.rfind(','); comma != std::string_view::npos; comma = text.rfind(',')) {
        const std::string_view option = text.substr(comma + 1);
        if (option == kProxyOption && !address.proxy) {
            address.proxy = true;
        } else if (unix) {
            break; // part of the path
        } else {
            error = option == kProxyOption ? "listener option 'proxy' given twice"
                                           : "unknown listener option '";
            if (option != kProxyOption) {
                error += option;
                error += "' (known: proxy)";
            }
            return std::nullopt;
        }
        text = text.substr(0, comma);
    }
    const bool webSocket = text.starts_with(kWebSocketPrefix);
    if (webSocket)
        text.remove_prefix(kWebSocketPrefix.size());
    auto endpoint = parseEndpoint(text, error);
    if (!endpoint)
        return std::nullopt;
    address.endpoint = std::move(*endpoint);
    address.endpoint.webSocket = webSocket;
    return address;
}

} // namespace pisock
