#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pisock {

// Names in broadcast mode: a client sends "name: kitchen" and the others see its messages as
// "kitchen: M" instead of "192.168.1.20:50312: M". Plain functions, for the daemon (whose hub
// keeps the names) and for pisock --name (which checks a name before sending it).

// The name a message asks for, if it is a name command: "name:" then the name, spaces around
// it ignored ("name: kitchen", "name:kitchen"). Any other message: nullopt.
std::optional<std::string_view> nameCommand(std::string_view message) noexcept;

// Why name cannot be used, as the error line the client gets ("error: ...\n"); empty if it
// can: 1 to 32 letters, digits, '-', '_' or '.', and nothing that looks like an address (only
// digits and dots, as an IPv4 address or a port; "unix", as unix socket clients are shown).
std::string_view nameProblem(std::string_view name) noexcept;

inline constexpr std::string_view kNameTakenLine = "error: name taken\n";

// The key names are unique by: ASCII lower case, so that "Kitchen" cannot pass for "kitchen".
std::string nameKey(std::string_view name);

// The line that asks for name: "name: NAME\n".
std::string nameLine(std::string_view name);

} // namespace pisock
