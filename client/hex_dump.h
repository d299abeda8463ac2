#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pisock {

// Formats a byte stream as `hexdump -C` does: offset, 16 bytes in hex, the printable ASCII.
// Owns only the running offset. Each chunk is shown as soon as it arrives, so a row after a
// short chunk starts at an offset that is not a multiple of 16 (hexdump would wait).
class HexDump
{
public:
    // The rows for the next chunk of the stream, each ending in '\n'.
    std::string format(std::string_view chunk);
    // The closing line: the total length as hexdump prints it, or "" if nothing came.
    [[nodiscard]] std::string finish() const;
    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }

private:
    std::uint64_t offset_ = 0;
};

} // namespace pisock
