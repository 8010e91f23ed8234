#include "interconnect/run_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <zmq.h>

namespace disco {

namespace {

constexpr size_t kZ85KeyChars = 40;
constexpr std::string_view kMagic = "disco-run-key 1";
constexpr size_t kMaxFileBytes = 4096;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool is_z85_key(const std::string& s) {
  if (s.size() != kZ85KeyChars) return false;
  std::array<uint8_t, 32> raw;
  return zmq_z85_decode(raw.data(), s.c_str()) != nullptr;
}

}  // namespace

RunKey RunKey::generate() {
  std::array<char, kZ85KeyChars + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw std::runtime_error(fmt::format("cannot make the run's CURVE key: {} (libzmq without libsodium?)",
                                         zmq_strerror(zmq_errno())));
  return {pub.data(), sec.data()};
}

void RunKey::write(const std::string& path) const {
  const Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (f.fd < 0) throw std::runtime_error(fmt::format("cannot create the run's key file {}: {}", path, std::strerror(errno)));
  const std::string text = fmt::format("{}\npublic {}\nsecret {}\n", kMagic, public_z85, secret_z85);
  if (::write(f.fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(fmt::format("cannot write the run's key file {}: {}", path, std::strerror(errno)));
}

RunKey RunKey::read(const std::string& path) {
  auto fail = [&](const std::string& why) { return std::runtime_error(fmt::format("run key file {}: {}", path, why)); };
  const Fd f{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) throw fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  if (st.st_uid != ::geteuid()) throw fail("owned by another user");
  if ((st.st_mode & 077) != 0) throw fail(fmt::format("mode {:o}: others may read it, it must be 0600", st.st_mode & 0777));
  if (st.st_size > static_cast<off_t>(kMaxFileBytes)) throw fail("too large to be a key file");
  std::string text(kMaxFileBytes, '\0');
  const ssize_t got = ::read(f.fd, text.data(), text.size());
  if (got < 0) throw fail(std::strerror(errno));
  text.resize(static_cast<size_t>(got));

  std::istringstream in(text);
  std::string magic, pub_word, sec_word;
  RunKey key;
  std::getline(in, magic);
  in >> pub_word >> key.public_z85 >> sec_word >> key.secret_z85;
  if (magic != kMagic || pub_word != "public" || sec_word != "secret") throw fail("not a disco run key file");
  if (!is_z85_key(key.public_z85)) throw fail("a key is not 40 characters of Z85");
  try {
    if (from_secret(key.secret_z85).public_z85 != key.public_z85) throw fail("its public key does not belong to its secret key");
  } catch (const std::invalid_argument& e) {
    throw fail(e.what());
  }
  return key;
}

RunKey RunKey::from_secret(const std::string& secret_z85) {
  if (!is_z85_key(secret_z85)) throw std::invalid_argument("a key is not 40 characters of Z85");
  std::array<char, kZ85KeyChars + 1> derived{};
  if (zmq_curve_public(derived.data(), secret_z85.c_str()) != 0)
    throw std::invalid_argument("no public key derives from the secret key");
  return {derived.data(), secret_z85};
}

}  // namespace disco
