#include "monitor/loader/boot_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "monitor/loader/elf32.h"
#include "monitor/loader/malta_loader.h"

namespace disco::boot {
namespace {

// A boot file opened for reading; closed with this.
struct OpenedFile {
  int fd = -1;
  uint64_t size = 0;

  OpenedFile() = default;
  OpenedFile(const OpenedFile&) = delete;
  OpenedFile& operator=(const OpenedFile&) = delete;
  ~OpenedFile() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens `path` into `file` and checks it as boot_file_size says: "" or the line. The file is
// judged by its descriptor, so what is checked is what is read. O_NONBLOCK: a FIFO or a device
// at the path must not hold the open up (it is refused right after).
std::string open_boot_file(const std::string& what, const std::string& path, uint64_t cap, OpenedFile& file) {
  const char* const w = what.c_str();
  const char* const p = path.c_str();
  file.fd = ::open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (file.fd < 0)
    return errno == ENOENT ? strprintf("%s %s is missing (no such file)", w, p) : strprintf("%s %s cannot be read: %s", w, p, std::strerror(errno));
  struct stat st;
  if (::fstat(file.fd, &st) != 0) return strprintf("%s %s cannot be read: %s", w, p, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return strprintf("%s %s is a directory", w, p);
  if (!S_ISREG(st.st_mode)) return strprintf("%s %s is not a regular file", w, p);
  file.size = uint64_t(st.st_size);
  if (file.size == 0) return strprintf("%s %s is empty", w, p);
  if (file.size > cap)
    return strprintf("%s %s is %llu bytes: does not fit (at most %llu)", w, p, (unsigned long long)file.size, (unsigned long long)cap);
  return "";
}

}  // namespace

Outcome<uint64_t> boot_file_size(const std::string& what, const std::string& path, uint64_t cap) {
  OpenedFile file;
  if (std::string e = open_boot_file(what, path, cap, file); !e.empty()) return Outcome<uint64_t>::fail(std::move(e));
  return {file.size};
}

std::string check_kernel_file(const std::string& path) {
  OpenedFile file;
  if (std::string e = open_boot_file("--kernel", path, kMaxKernelFileBytes, file); !e.empty()) return e;
  // The whole ELF as the loader will take it (a kernel is a few MiB, and the cap bounds it): its
  // header, and its program headers and segments within the file.
  std::vector<uint8_t> bytes(file.size);
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t got = ::pread(file.fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0) return strprintf("--kernel %s cannot be read: %s", path.c_str(), std::strerror(errno));
    if (got == 0) {
      bytes.resize(done);  // shrank while read
      break;
    }
    done += size_t(got);
  }
  if (const Outcome<Elf32Image> elf = parse_elf32_mips(bytes); !elf.value)
    return strprintf("--kernel %s is not an ELF32 little-endian MIPS executable: %s", path.c_str(), elf.error.c_str());
  return "";
}

std::string check_initrd_file(const std::string& path) {
  // The most any guest RAM size leaves for it (the loader's own check, for the RAM it has).
  return boot_file_size("--initrd", path, kLowRamLimit - kInitrdHeadroom).error;
}

}  // namespace disco::boot
