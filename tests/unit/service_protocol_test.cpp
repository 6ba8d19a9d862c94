// shared/service/: the pieces of systemd's protocols that need no service manager: journal line
// format and stream matching, NOTIFY_SOCKET addresses, the LISTEN_* checks that touch no fd.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "shared/service/inherited_listeners.h"
#include "shared/service/journal_stream.h"
#include "shared/service/notify_socket.h"

namespace sitehost::service {
namespace {

TEST(JournalStream, EveryLineGetsThePriority) {
  EXPECT_EQ(journal_lines(LogLevel::kInfo, "one"), "<6>one\n");
  EXPECT_EQ(journal_lines(LogLevel::kError, "one\ntwo"), "<3>one\n<3>two\n");
  EXPECT_EQ(journal_lines(LogLevel::kWarn, "one\n"), "<4>one\n");
  EXPECT_EQ(journal_lines(LogLevel::kDebug, ""), "<7>\n");
}

TEST(JournalStream, MatchesOnlyTheNamedStream) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  struct stat st {};
  ASSERT_EQ(::fstat(fileno(f), &st), 0);
  std::string value = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  EXPECT_TRUE(is_journal_stream(value, fileno(f)));
  EXPECT_FALSE(is_journal_stream(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1),
                                 fileno(f)));
  EXPECT_FALSE(is_journal_stream("", fileno(f)));
  EXPECT_FALSE(is_journal_stream(value + "x", fileno(f)));
  EXPECT_FALSE(is_journal_stream("12", fileno(f)));
  std::fclose(f);
}

TEST(NotifySocket, AddressForms) {
  std::string error;
  EXPECT_FALSE(NotifySocket::open("", &error).enabled());
  EXPECT_EQ(error, "");
  EXPECT_TRUE(NotifySocket::open("@some-name", &error).enabled());
  EXPECT_TRUE(NotifySocket::open("/run/systemd/notify", &error).enabled());
  EXPECT_EQ(error, "");
  EXPECT_FALSE(NotifySocket::open("relative/path", &error).enabled());
  EXPECT_NE(error.find("not a unix socket path"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(NotifySocket::open("vsock:2:1234", &error).enabled());
  EXPECT_FALSE(error.empty());
}

TEST(NotifySocket, OneDatagramPerMessage) {
  int rx = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = "@sitehost-unit-" + std::to_string(::getpid());
  std::copy(name.begin() + 1, name.end(), addr.sun_path + 1);
  ASSERT_EQ(::bind(rx, reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())),
            0);
  std::string error;
  NotifySocket s = NotifySocket::open(name, &error);
  EXPECT_EQ(s.send("READY=1\nSTATUS=up"), "");
  char buf[64];
  ssize_t n = ::recv(rx, buf, sizeof buf, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "READY=1\nSTATUS=up");
  ::close(rx);
  // Nobody listens any more: an error to log, nothing else.
  EXPECT_NE(s.send("STOPPING=1"), "");
}

TEST(InheritedListeners, OnlyForThisProcess) {
  InheritedListeners l;
  EXPECT_EQ(l.take(nullptr, "2", nullptr, 100), "");
  EXPECT_EQ(l.take("99", "2", nullptr, 100), "");  // another process's
  EXPECT_EQ(l.take("100", "0", nullptr, 100), "");
  EXPECT_TRUE(l.empty());
  EXPECT_NE(l.take("100", "two", nullptr, 100).find("LISTEN_FDS=two"), std::string::npos);
  EXPECT_NE(l.take("100", nullptr, nullptr, 100), "");
}

}  // namespace
}  // namespace sitehost::service
