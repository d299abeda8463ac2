#include "utf8.h"

#include <array>
#include <cstddef>
#include <cstring>

namespace pisock {

namespace {

// Byte classes: bytes that every state treats alike (Unicode's table of well-formed UTF-8
// byte sequences, chapter 3).
enum Class : std::uint8_t {
    kAscii, // 00..7F
    kCont80, // 80..8F: continuation, also allowed after F4
    kCont90, // 90..9F: continuation, also allowed after ED and F0
    kContA0, // A0..BF: continuation, also allowed after E0 and F0
    kLead2, // C2..DF
    kLeadE0, // E0: next A0..BF (no overlong form)
    kLead3, // E1..EC, EE..EF
    kLeadED, // ED: next 80..9F (no surrogate)
    kLeadF0, // F0: next 90..BF (no overlong form)
    kLead4, // F1..F3
    kLeadF4, // F4: next 80..8F (nothing past U+10FFFF)
    kInvalid, // C0, C1, F5..FF
};
constexpr std::size_t kClasses = kInvalid + 1;

// States besides kAccept and kReject: what the next byte must be.
enum State : std::uint8_t {
    kNeed1 = 2, // one continuation byte
    kNeed2, // two
    kNeed3, // three
    kAfterE0, // A0..BF, then one more
    kAfterED, // 80..9F, then one more
    kAfterF0, // 90..BF, then two more
    kAfterF4, // 80..8F, then two more
};
constexpr std::size_t kStates = kAfterF4 + 1;

constexpr std::array<std::uint8_t, 256> makeClasses()
{
    std::array<std::uint8_t, 256> c{};
    auto fill = [&c](unsigned from, unsigned to, Class cls) {
        for (unsigned b = from; b <= to; ++b)
            c[b] = cls;
    };
    fill(0x00, 0x7f, kAscii);
    fill(0x80, 0x8f, kCont80);
    fill(0x90, 0x9f, kCont90);
    fill(0xa0, 0xbf, kContA0);
    fill(0xc0, 0xc1, kInvalid);
    fill(0xc2, 0xdf, kLead2);
    fill(0xe0, 0xe0, kLeadE0);
    fill(0xe1, 0xef, kLead3);
    fill(0xed, 0xed, kLeadED);
    fill(0xf0, 0xf0, kLeadF0);
    fill(0xf1, 0xf3, kLead4);
    fill(0xf4, 0xf4, kLeadF4);
    fill(0xf5, 0xff, kInvalid);
    return c;
}

constexpr std::array<std::uint8_t, kStates * kClasses> makeTransitions()
{
    std::array<std::uint8_t, kStates * kClasses> t{};
    for (auto &next : t)
        next = Utf8Validator::kReject;
    auto on = [&t](std::uint8_t state, Class cls, std::uint8_t next) {
        t[state * kClasses + cls] = next;
    };
    on(Utf8Validator::kAccept, kAscii, Utf8Validator::kAccept);
    on(Utf8Validator::kAccept, kLead2, kNeed1);
    on(Utf8Validator::kAccept, kLeadE0, kAfterE0);
    on(Utf8Validator::kAccept, kLead3, kNeed2);
    on(Utf8Validator::kAccept, kLeadED, kAfterED);
    on(Utf8Validator::kAccept, kLeadF0, kAfterF0);
    on(Utf8Validator::kAccept, kLead4, kNeed3);
    on(Utf8Validator::kAccept, kLeadF4, kAfterF4);
    for (Class cont : { kCont80, kCont90, kContA0 }) {
        on(kNeed1, cont, Utf8Validator::kAccept);
        on(kNeed2, cont, kNeed1);
        on(kNeed3, cont, kNeed2);
    }
    on(kAfterE0, kContA0, kNeed1);
    on(kAfterED, kCont80, kNeed1);
    on(kAfterED, kCont90, kNeed1);
    on(kAfterF0, kCont90, kNeed2);
    on(kAfterF0, kContA0, kNeed2);
    on(kAfterF4, kCont80, kNeed2);
    return t;
}

constexpr auto kClassOf = makeClasses();
constexpr auto kNext = makeTransitions();
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

} // namespace

bool Utf8Validator::feed(std::string_view bytes) noexcept
{
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    const auto *end = p + bytes.size();
    std::uint8_t state = state_;
    while (p != end && state != kReject) {
        if (state == kAccept) {
            // Between characters: skip plain ASCII a word at a time.
            while (end - p >= 8) {
                std::uint64_t word;
                std::memcpy(&word, p, sizeof word);
                if (word & kHighBits)
                    break;
                p += 8;
            }
            if (p == end)
                break;
        }
        state = kNext[state * kClasses + kClassOf[*p++]];
    }
    state_ = state;
    return state != kReject;
}

bool isValidUtf8(std::string_view text) noexcept
{
    Utf8Validator v;
    return v.feed(text) && v.complete();
}

} // namespace pisock
