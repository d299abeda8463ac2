#include "session.h"

#include <utility>

#include "connect.h"
#include "exchange.h"
#include "ws_client.h"

namespace pisock {

bool Session::open(const ClientOptions &options, Failure &failure)
{
    socket = connectTo(options.endpoint, options.family, options.timeout, failure);
    if (socket && options.tls.enabled)
        socket = tls.start(std::move(socket), options.endpoint.host, options.endpoint.toString(),
                           options.tls, options.timeout, failure);
    if (socket && options.endpoint.webSocket &&
        !wsHandshake(socket.get(), options.endpoint, options.timeout, leftover, failure))
        socket.reset();
    return static_cast<bool>(socket);
}

void Session::start(Exchange &exchange, const ClientOptions &options)
{
    if (options.endpoint.webSocket)
        exchange.startWebSocket(std::move(leftover));
}

} // namespace pisock
