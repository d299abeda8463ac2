#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/unique_fd.h"
#include "status.h"

namespace pisock {

// The addresses to try for endpoint, in getaddrinfo's order (a unix endpoint gives one).
// family is AF_UNSPEC, AF_INET or AF_INET6. On failure returns nothing and fills failure.
std::optional<std::vector<SocketAddress>> resolve(const Endpoint &endpoint, int family,
                                                  Failure &failure);

// Connects to the first address that accepts, trying each in order; each attempt may take up
// to timeout. The socket is non-blocking and close-on-exec. On failure returns an invalid fd
// and fills failure (status 3 when every attempt timed out, else 1); name is the endpoint as
// the user wrote it, for the message.
UniqueFd connectAny(const std::vector<SocketAddress> &addresses,
                    std::optional<std::chrono::milliseconds> timeout, const std::string &name,
                    Failure &failure);

// resolve() then connectAny().
UniqueFd connectTo(const Endpoint &endpoint, int family,
                   std::optional<std::chrono::milliseconds> timeout, Failure &failure);

} // namespace pisock
