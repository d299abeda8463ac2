// Many clients at once: 500 connections, 100 round trips each, all answered correctly.

#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("500 concurrent clients each get 100 correct round trips", "[e2e][many]")
{
    constexpr int kClients = 500;
    constexpr int kRounds = 100;
    Daemon d({ "--max-per-host", "0" }); // one address plays 500 clients
    std::vector<Client> clients;
    clients.reserve(kClients);
    for (int i = 0; i < kClients; ++i)
        clients.emplace_back(d.port());

    struct State {
        int round = 0;
        std::string pending;
    };
    std::vector<State> state(kClients);
    auto expect = [](int client, int round) {
        return "server rec: client " + std::to_string(client) + " round " + std::to_string(round) +
               "\n";
    };
    for (int i = 0; i < kClients; ++i)
        clients[static_cast<std::size_t>(i)].send("client " + std::to_string(i) + " round 0\n");

    int done = 0;
    int wrong = 0;
    const auto deadline = Clock::now() + 120s;
    std::vector<pollfd> fds(kClients);
    while (done < kClients && Clock::now() < deadline) {
        for (int i = 0; i < kClients; ++i)
            fds[static_cast<std::size_t>(i)] = {
                clients[static_cast<std::size_t>(i)].fd(),
                state[static_cast<std::size_t>(i)].round < kRounds ? short(POLLIN) : short(0), 0
            };
        if (::poll(fds.data(), fds.size(), 1000) <= 0)
            continue;
        for (int i = 0; i < kClients; ++i) {
            auto &s = state[static_cast<std::size_t>(i)];
            if (!(fds[static_cast<std::size_t>(i)].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[4096];
            const ssize_t n =
                    ::recv(fds[static_cast<std::size_t>(i)].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n <= 0) {
                ++wrong;
                s.round = kRounds;
                ++done;
                continue;
            }
            s.pending.append(buf, static_cast<std::size_t>(n));
            const std::string want = expect(i, s.round);
            if (s.pending.size() < want.size())
                continue;
            if (s.pending != want)
                ++wrong;
            s.pending.clear();
            if (++s.round == kRounds) {
                ++done;
                continue;
            }
            clients[static_cast<std::size_t>(i)].send("client " + std::to_string(i) + " round " +
                                                      std::to_string(s.round) + "\n");
        }
    }
    CHECK(done == kClients);
    CHECK(wrong == 0);
    CHECK(d.stop() == 0);
}
