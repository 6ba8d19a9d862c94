#include "inproc/elf_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace sitehost::inproc {
namespace {

#if defined(__x86_64__)
constexpr unsigned kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kHostMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr unsigned kHostMachine = EM_386;
#elif defined(__riscv)
constexpr unsigned kHostMachine = EM_RISCV;
#else
#error "elf_check: unknown host machine"
#endif

constexpr unsigned char kHostClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kHostData = ELFDATA2LSB;
#else
constexpr unsigned char kHostData = ELFDATA2MSB;
#endif

using Ehdr = std::conditional_t<sizeof(void*) == 8, Elf64_Ehdr, Elf32_Ehdr>;
using Phdr = std::conditional_t<sizeof(void*) == 8, Elf64_Phdr, Elf32_Phdr>;
using Dyn = std::conditional_t<sizeof(void*) == 8, Elf64_Dyn, Elf32_Dyn>;

// Bounds on what we read, so a hostile header cannot make us read gigabytes.
constexpr size_t kMaxProgramHeaders = 256;
constexpr size_t kMaxDynamicBytes = 64 * 1024;

const char* class_name(unsigned char c) {
  switch (c) {
    case ELFCLASS32:
      return "32-bit (ELFCLASS32)";
    case ELFCLASS64:
      return "64-bit (ELFCLASS64)";
    default:
      return "an unknown class";
  }
}

const char* data_name(unsigned char d) {
  switch (d) {
    case ELFDATA2LSB:
      return "little-endian";
    case ELFDATA2MSB:
      return "big-endian";
    default:
      return "unknown byte order";
  }
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly `len` bytes at `offset`; false on a short file or an error.
bool read_at(int fd, void* buf, size_t len, off_t offset) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

std::string elf_machine_name(unsigned machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86-64";
    case EM_386:
      return "x86 (i386)";
    case EM_AARCH64:
      return "aarch64";
    case EM_ARM:
      return "arm";
    case EM_RISCV:
      return "riscv";
    case EM_PPC64:
      return "ppc64";
    case EM_PPC:
      return "ppc";
    case EM_S390:
      return "s390";
    case EM_MIPS:
      return "mips";
    case EM_LOONGARCH:
      return "loongarch";
    default:
      return fmt::format("machine {}", machine);
  }
}

std::string host_elf_description() {
  return fmt::format("{} {} {}", kHostClass == ELFCLASS64 ? "64-bit" : "32-bit",
                     data_name(kHostData), elf_machine_name(kHostMachine));
}

std::optional<ElfProblem> check_elf(const std::filesystem::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    return ElfProblem{err == ENOENT || err == ENOTDIR ? 38 : 33,
                      fmt::format("{}: cannot open: {}", file.string(), std::strerror(err))};
  }
  unsigned char ident[EI_NIDENT];
  if (!read_at(fd.get(), ident, sizeof ident, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return ElfProblem{33, fmt::format("{} is not an ELF file (no ELF magic); expected a {} "
                                      "shared library",
                                      file.string(), host_elf_description())};
  if (ident[EI_CLASS] != kHostClass || ident[EI_DATA] != kHostData) {
    return ElfProblem{32, fmt::format("{} is built for {} {}; this server can only load {} "
                                      "shared libraries",
                                      file.string(), class_name(ident[EI_CLASS]),
                                      data_name(ident[EI_DATA]), host_elf_description())};
  }
  Ehdr eh{};
  if (!read_at(fd.get(), &eh, sizeof eh, 0))
    return ElfProblem{33, fmt::format("{}: truncated ELF header", file.string())};
  if (eh.e_machine != kHostMachine) {
    return ElfProblem{32, fmt::format("{} is built for {} (e_machine {}); this server can only "
                                      "load {} shared libraries",
                                      file.string(), elf_machine_name(eh.e_machine), eh.e_machine,
                                      host_elf_description())};
  }
  switch (eh.e_type) {
    case ET_DYN:
      break;
    case ET_EXEC:
      return ElfProblem{33, fmt::format("{} is an executable (ET_EXEC), not a shared library; "
                                        "build it with -shared -fPIC",
                                        file.string())};
    case ET_REL:
      return ElfProblem{33, fmt::format("{} is an object file (ET_REL), not a shared library; "
                                        "link it with -shared",
                                        file.string())};
    default:
      return ElfProblem{
          33, fmt::format("{} is not a shared library (ELF type {})", file.string(), eh.e_type)};
  }

  // ET_DYN is also what a position-independent executable is: look for DF_1_PIE.
  if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 || eh.e_phnum > kMaxProgramHeaders)
    return ElfProblem{33, fmt::format("{}: malformed program header table", file.string())};
  std::vector<Phdr> phdrs(eh.e_phnum);
  if (!read_at(fd.get(), phdrs.data(), phdrs.size() * sizeof(Phdr), static_cast<off_t>(eh.e_phoff)))
    return ElfProblem{33, fmt::format("{}: truncated program header table", file.string())};
  const Phdr* dynamic = nullptr;
  for (const auto& ph : phdrs)
    if (ph.p_type == PT_DYNAMIC) dynamic = &ph;
  if (!dynamic)
    return ElfProblem{33, fmt::format("{} has no dynamic section: a static executable, not a "
                                      "shared library",
                                      file.string())};
  size_t bytes = std::min<size_t>(dynamic->p_filesz, kMaxDynamicBytes);
  std::vector<Dyn> dyns(bytes / sizeof(Dyn));
  if (!read_at(fd.get(), dyns.data(), dyns.size() * sizeof(Dyn),
               static_cast<off_t>(dynamic->p_offset)))
    return ElfProblem{33, fmt::format("{}: truncated dynamic section", file.string())};
  for (const auto& d : dyns) {
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_PIE))
      return ElfProblem{33, fmt::format("{} is a position-independent executable, not a shared "
                                        "library; build it with -shared -fPIC",
                                        file.string())};
  }
  return std::nullopt;
}

ElfCompleteness elf_completeness(const std::filesystem::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) return ElfCompleteness::kNotElf;
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return ElfCompleteness::kIncomplete;
  unsigned char ident[EI_NIDENT] = {};
  const size_t have = std::min<uint64_t>(size, sizeof ident);
  if (!read_at(fd.get(), ident, have, 0)) return ElfCompleteness::kNotElf;
  if (have < SELFMAG)  // a prefix of the magic so far: more is on its way
    return std::memcmp(ident, ELFMAG, have) == 0 ? ElfCompleteness::kIncomplete
                                                 : ElfCompleteness::kNotElf;
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return ElfCompleteness::kNotElf;
  if (have < EI_NIDENT || size < sizeof(Ehdr)) return ElfCompleteness::kIncomplete;
  // Another class or byte order: the header layout differs; check_elf names the build.
  if (ident[EI_CLASS] != kHostClass || ident[EI_DATA] != kHostData)
    return ElfCompleteness::kComplete;
  Ehdr eh{};
  if (!read_at(fd.get(), &eh, sizeof eh, 0)) return ElfCompleteness::kIncomplete;

  // Headers that make no sense are the loader's to report, not a reason to wait forever.
  constexpr uint64_t kSane = uint64_t{1} << 40;
  if (eh.e_phoff > kSane || eh.e_shoff > kSane || eh.e_phnum > kMaxProgramHeaders)
    return ElfCompleteness::kComplete;
  uint64_t needed = sizeof(Ehdr);
  needed = std::max<uint64_t>(needed, eh.e_phoff + uint64_t{eh.e_phnum} * eh.e_phentsize);
  if (eh.e_shoff != 0)
    needed = std::max<uint64_t>(needed, eh.e_shoff + uint64_t{eh.e_shnum} * eh.e_shentsize);
  if (size < needed) return ElfCompleteness::kIncomplete;
  if (eh.e_phentsize == sizeof(Phdr) && eh.e_phnum > 0) {
    std::vector<Phdr> phdrs(eh.e_phnum);
    if (!read_at(fd.get(), phdrs.data(), phdrs.size() * sizeof(Phdr),
                 static_cast<off_t>(eh.e_phoff)))
      return ElfCompleteness::kIncomplete;
    for (const auto& ph : phdrs) {
      if (ph.p_offset > kSane || ph.p_filesz > kSane) return ElfCompleteness::kComplete;
      needed = std::max<uint64_t>(needed, uint64_t{ph.p_offset} + ph.p_filesz);
    }
  }
  return size < needed ? ElfCompleteness::kIncomplete : ElfCompleteness::kComplete;
}

}  // namespace sitehost::inproc
