#pragma once

#include <string_view>

namespace pisock {

// What a line from the server is to pisock, by its text (pisockd(8) lists the lines).
enum class ServerLine {
    Plain, // a reply, or a broadcast line
    Error, // "error: ..." answering a message (message too long), or a notice (messages dropped)
    CloseReason, // "error: ..." sent right before the server closes the connection: server busy,
    // not allowed, idle timeout (N s), server stopping
};

ServerLine classifyServerLine(std::string_view line) noexcept;

} // namespace pisock
