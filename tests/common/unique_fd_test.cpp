#include "common/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include "tests/catch.h"

using pisock::UniqueFd;

namespace {

bool isOpen(int fd)
{
    return ::fcntl(fd, F_GETFD) != -1;
}

} // namespace

TEST_CASE("a default UniqueFd holds nothing", "[unique_fd]")
{
    UniqueFd fd;
    CHECK(fd.get() == -1);
    CHECK_FALSE(fd.valid());
}

TEST_CASE("the descriptor is closed when the owner goes", "[unique_fd]")
{
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        UniqueFd fd(raw);
        CHECK(fd.get() == raw);
        CHECK(isOpen(raw));
    }
    CHECK_FALSE(isOpen(raw));
}

TEST_CASE("moving transfers ownership exactly once", "[unique_fd]")
{
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    CHECK(a.get() == -1);
    CHECK(b.get() == raw);
    UniqueFd c;
    c = std::move(b);
    CHECK(b.get() == -1);
    CHECK(c.get() == raw);
    CHECK(isOpen(raw));
    c.reset();
    CHECK_FALSE(isOpen(raw));
}

TEST_CASE("release hands the descriptor back without closing it", "[unique_fd]")
{
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd fd(raw);
    CHECK(fd.release() == raw);
    CHECK(fd.get() == -1);
    CHECK(isOpen(raw));
    ::close(raw);
}

TEST_CASE("reset closes the old descriptor and takes the new one", "[unique_fd]")
{
    int first = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int second = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd fd(first);
    fd.reset(second);
    CHECK_FALSE(isOpen(first));
    CHECK(fd.get() == second);
    fd.reset(second); // same descriptor: kept, not closed
    CHECK(isOpen(second));
}
