#pragma once

// An independent model of the framing pisockd(8) describes, for the fuzz targets to check the real
// code against: what a stream of bytes must produce, whatever the read boundaries.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pisock::fuzz {

struct Event {
    bool tooLong = false;
    std::string message; // when !tooLong
    std::string ending; // the line ending taken off the message: "\n", "\r\n" or none

    friend bool operator==(const Event &, const Event &) = default;
};

inline std::string_view dropCr(std::string_view s)
{
    if (!s.empty() && s.back() == '\r')
        s.remove_suffix(1);
    return s;
}

// Line framing: one event per complete line (one '\r' before '\n' dropped; longer than
// maxMessage is TooLong). atEof: the unterminated rest is a last message too, unless it was
// already too long while it waited (longer than maxMessage, not counting a final '\r').
// stopAtQuit: nothing after a "quit" or "exit" message.
inline std::vector<Event> modelLines(std::string_view in, std::size_t maxMessage, bool atEof,
                                     bool stopAtQuit)
{
    std::vector<Event> events;
    for (;;) {
        const auto nl = in.find('\n');
        if (nl == std::string_view::npos)
            break;
        const std::string_view line = dropCr(in.substr(0, nl));
        const std::string ending(in.substr(line.size(), nl + 1 - line.size()));
        in.remove_prefix(nl + 1);
        if (line.size() > maxMessage) {
            events.push_back({ true, {}, {} });
            continue;
        }
        events.push_back({ false, std::string(line), ending });
        if (stopAtQuit && (line == "quit" || line == "exit"))
            return events;
    }
    if (in.empty())
        return events;
    const bool pendingCr = in.back() == '\r';
    if (in.size() > maxMessage + (pendingCr ? 1 : 0))
        events.push_back({ true, {}, {} }); // reported while it waited, never answered
    else if (atEof)
        events.push_back({ false, std::string(dropCr(in)), {} });
    return events;
}

// Raw framing: one read is one message, less one trailing "\n" or "\r\n", which is its
// ending: reply mode answers "<prefix>", the message and that ending, exactly as received.
inline Event modelRaw(std::string_view chunk, std::size_t maxMessage)
{
    std::string_view ending;
    if (!chunk.empty() && chunk.back() == '\n') {
        const std::string_view body = dropCr(chunk.substr(0, chunk.size() - 1));
        ending = chunk.substr(body.size());
        chunk = body;
    }
    if (chunk.size() > maxMessage)
        return { true, {}, {} };
    return { false, std::string(chunk), std::string(ending) };
}

} // namespace pisock::fuzz
