#include "hex_dump.h"

#include <cstdio>

namespace pisock {

namespace {

constexpr std::size_t kRow = 16;

void appendOffset(std::string &out, std::uint64_t offset)
{
    char text[24];
    const int n =
            std::snprintf(text, sizeof(text), "%08llx", static_cast<unsigned long long>(offset));
    out.append(text, static_cast<std::size_t>(n));
}

} // namespace

std::string HexDump::format(std::string_view chunk)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve((chunk.size() / kRow + 1) * 80);
    while (!chunk.empty()) {
        const std::string_view row = chunk.substr(0, kRow);
        chunk.remove_prefix(row.size());
        appendOffset(out, offset_);
        out += "  ";
        for (std::size_t i = 0; i < kRow; ++i) {
            if (i < row.size()) {
                const auto byte = static_cast<unsigned char>(row[i]);
                out += kDigits[byte >> 4];
                out += kDigits[byte & 0xf];
                out += ' ';
            } else {
                out += "   ";
            }
            if (i == 7)
                out += ' ';
        }
        out += " |";
        for (char c : row)
            out += c >= 0x20 && c < 0x7f ? c : '.';
        out += "|\n";
        offset_ += row.size();
    }
    return out;
}

std::string HexDump::finish() const
{
    std::string out;
    if (offset_ > 0) {
        appendOffset(out, offset_);
        out += '\n';
    }
    return out;
}

} // namespace pisock
