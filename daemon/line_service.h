#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/line_codec.h"
#include "connection.h"
#include "log.h"

namespace pisock {

// What reply mode needs to know; owned by the server and changed in place on reload, so a
// new prefix or limit applies to the next message of every connection.
struct ReplyConfig {
    std::string prefix = "server rec: ";
    std::size_t maxMessage = 64 * 1024;
};

// True for the messages that end a session: exactly "quit" or "exit".
bool isQuitCommand(std::string_view message) noexcept;

// Reply mode (SPEC.md section 1): each message M is answered with "<prefix>M\n", in order;
// quit and exit are answered, then end the session. Owns its codec state; borrows the config.
class LineService final : public Service
{
public:
    LineService(const ReplyConfig &config, Framing framing, std::string peer, std::uint64_t id);

    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override { return messages_; }

private:
    Verdict answer(std::string_view message, Buffer &out) noexcept;
    void tooLong(Buffer &out) noexcept;

    const ReplyConfig &config_;
    LineCodec codec_;
    std::string peer_; // for debug lines only
    std::uint64_t id_;
    std::uint64_t messages_ = 0;
};

// Echo mode (RFC 862): every byte back, unchanged and in order. No framing, no commands.
class EchoService final : public Service
{
public:
    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override { return 0; }
};

} // namespace pisock
