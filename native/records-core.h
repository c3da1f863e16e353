// kdm_records: the replay readers' fast path, in native code. One call takes a CloudTrail file's decompressed
// bytes (`{"Records":[...]}`), checks the whole document is JSON, and writes each record's normalized event in the
// transfer codec's tokens (src/adapters/local/transfer-codec.ts, normalized-codec.ts), doing what `JSON.parse`,
// `normalizeRecord` and `NormalizedBatchWriter` do in JavaScript.
//
// It is exact or it declines. A record it cannot normalize exactly as `normalizeRecord` would (any field it reads
// holding an escape, a number as text, a key given twice, a failure whose message JavaScript words, a source whose
// request parameters are kept whole, ...) is handed back as the byte range of its text, for JavaScript to parse and
// normalize; a document it cannot read (not this layout, not JSON) comes back as null and is read by JavaScript
// whole, which then says what is wrong with it. test/unit/adapters/native-records.test.ts holds the two paths to the
// same results over every dataset record and over records made to reach each of these cases.
//
// This header is the whole of it but the N-API calls (records.cc). Its definitions are in an unnamed namespace:
// each binary that uses it (the addon, and the fuzzer in fuzz/records-fuzz.cc) includes it from one file, and has
// its own copy.
#pragma once

#include <zlib.h>  // in the addon, Node.js's own zlib, whose symbols node exports to addons
#if defined(__SSE2__)
#include <emmintrin.h>  // x86-64's baseline vector instructions
#endif
#if defined(_MSC_VER)
#include <intrin.h>  // _BitScanForward
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Text

struct Str {
  const char* p = nullptr;
  uint32_t n = 0;
  bool eq(const char* lit, size_t len) const { return n == len && std::memcmp(p, lit, len) == 0; }
  bool starts(const char* lit, size_t len) const { return n >= len && std::memcmp(p, lit, len) == 0; }
  bool ends(const char* lit, size_t len) const { return n >= len && std::memcmp(p + n - len, lit, len) == 0; }
  // The first index of `lit` at or after `from`, or -1.
  int64_t find(const char* lit, size_t len, uint32_t from = 0) const {
    if (len > n) return -1;
    for (uint32_t i = from; i + len <= n; i++)
      if (std::memcmp(p + i, lit, len) == 0) return i;
    return -1;
  }
  int64_t findChar(char c, uint32_t from = 0) const {
    for (uint32_t i = from; i < n; i++)
      if (p[i] == c) return i;
    return -1;
  }
  int64_t lastChar(char c) const {
    for (int64_t i = static_cast<int64_t>(n) - 1; i >= 0; i--)
      if (p[i] == c) return i;
    return -1;
  }
  Str slice(uint32_t from, uint32_t to) const { return Str{p + from, to - from}; }
  Str from(uint32_t at) const { return Str{p + at, n - at}; }
  bool ascii() const {
    for (uint32_t i = 0; i < n; i++)
      if (static_cast<unsigned char>(p[i]) >= 0x80) return false;
    return true;
  }
};
#define LIT(lit) lit, sizeof(lit) - 1
#define EQ(s, lit) (s).eq(LIT(lit))
#define STARTS(s, lit) (s).starts(LIT(lit))

const Str kUnknown{LIT("unknown")};
#define S(lit) Str{LIT(lit)}

// ---------------------------------------------------------------------------------------------------------------
// Where the first byte that ends a run is, from the flags a scan made of a run's bytes (nonzero): the first in
// memory is the lowest flag, on the little-endian machines the addon builds for.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the string scan reads words as little-endian"
#endif
// The lowest set bit of a 16-bit mask of bytes (one bit a byte).
static inline int lowestBit(unsigned mask) {
#if defined(_MSC_VER)
  unsigned long bit;
  _BitScanForward(&bit, mask);
  return static_cast<int>(bit);
#else
  return __builtin_ctz(mask);
#endif
}
// The lowest byte of a word whose bytes are flagged by their high bit.
static inline int lowestByte(uint64_t flags) {
#if defined(_MSC_VER)
  unsigned long bit;
  _BitScanForward64(&bit, flags);
  return static_cast<int>(bit >> 3);
#else
  return __builtin_ctzll(flags) >> 3;
#endif
}

// JSON scanning: validates as JSON.parse does, and hands back strings and numbers where asked.

enum Kind : uint8_t { ABSENT, STRING, NUMBER, TRUE_, FALSE_, NULL_, OBJECT, ARRAY };

// A field of a record as JSON.parse would give it, as far as normalizeRecord reads it.
struct Field {
  Kind kind = ABSENT;
  bool escaped = false;  // a string with escapes: its text here is not its value
  Str s;
  double number = 0;
  bool present() const { return kind != ABSENT; }
};

constexpr int kMaxDepth = 400;

struct Scanner {
  const char* p;
  const char* end;
  bool bad = false;

  bool fail() {
    bad = true;
    return false;
  }
  void ws() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  }
  bool at(char c) {
    ws();
    return p < end && *p == c;
  }
  static bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  // At '"'. `out` is the text between the quotes; `escaped` says whether it holds escapes.
  bool string(Str& out, bool& escaped) {
    p++;
    const char* start = p;
    escaped = false;
    for (;;) {
      // The common bytes first, sixteen or eight at a time where none of them ends or escapes the string.
#if defined(__SSE2__)
      bool stopped = false;
      while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // '"', '\\', and (compared as signed bytes) below 0x20 or from 0x80.
        const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
        if (mask != 0) {
          p += lowestBit(mask);
          stopped = true;
          break;
        }
        p += 16;
      }
      while (!stopped && end - p >= 8) {
#else
      while (end - p >= 8) {
#endif
        uint64_t w;
        std::memcpy(&w, p, 8);
        // Bytes equal to '"' (0x22) or '\\' (0x5c), below 0x20, or from 0x80 (UTF-8 to check).
        const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        uint64_t q = w ^ (ones * 0x22), b = w ^ (ones * 0x5c);
        uint64_t hasQuote = (q - ones) & ~q & highs;
        uint64_t hasBackslash = (b - ones) & ~b & highs;
        uint64_t hasControl = (w - ones * 0x20) & ~w & highs;
        const uint64_t stops = hasQuote | hasBackslash | hasControl | (w & highs);
        if (stops != 0) {
          // To the first byte that stops the run: its flag is the lowest set (a flag above a true one may be false).
          p += lowestByte(stops);
          break;
        }
        p += 8;
      }
      if (p >= end) return fail();
      unsigned char c = static_cast<unsigned char>(*p);
      if (c == '"') {
        out = Str{start, static_cast<uint32_t>(p - start)};
        p++;
        return true;
      }
      if (c < 0x20) return fail();
      if (c >= 0x80) {
        if (!utf8Sequence()) return fail();
        continue;
      }
      if (c == '\\') {
        escaped = true;
        if (++p >= end) return fail();
        switch (*p) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
          case 'u':
            if (end - p < 5 || !isHex(p[1]) || !isHex(p[2]) || !isHex(p[3]) || !isHex(p[4])) return fail();
            p += 4;
            break;
          default: return fail();
        }
      }
      p++;
    }
  }
  // At a byte from 0x80: one UTF-8 sequence as RFC 3629 allows it (no overlong forms, no surrogates, nothing past
  // U+10FFFF), passed over. The same bytes Node.js's isUtf8 accepts.
  bool utf8Sequence() {
    const unsigned char c = static_cast<unsigned char>(*p);
    int more;
    unsigned char low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else return false;
    if (end - p <= more) return false;
    for (int i = 1; i <= more; i++) {
      const unsigned char d = static_cast<unsigned char>(p[i]);
      if (d < (i == 1 ? low : 0x80) || d > (i == 1 ? high : 0xbf)) return false;
    }
    p += more + 1;
    return true;
  }
  // A number as JSON writes one; its value as JSON.parse reads it (correctly rounded, as strtod does).
  bool number(double& out) {
    const char* start = p;
    bool negative = false;
    if (p < end && *p == '-') {
      negative = true;
      p++;
    }
    if (p >= end) return fail();
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') {
      while (p < end && *p >= '0' && *p <= '9') p++;
    } else return fail();
    bool integer = true;
    if (p < end && *p == '.') {
      integer = false;
      p++;
      if (p >= end || *p < '0' || *p > '9') return fail();
      while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      integer = false;
      p++;
      if (p < end && (*p == '+' || *p == '-')) p++;
      if (p >= end || *p < '0' || *p > '9') return fail();
      while (p < end && *p >= '0' && *p <= '9') p++;
    }
    const char* digits = start + (negative ? 1 : 0);
    if (integer && p - digits <= 15) {
      int64_t v = 0;
      for (const char* q = digits; q < p; q++) v = v * 10 + (*q - '0');
      out = negative ? -static_cast<double>(v) : static_cast<double>(v);  // -0 stays -0
      return true;
    }
    // Correctly rounded, as JSON.parse reads numbers. Past a double's range (JSON.parse gives ±Infinity or ±0) it is
    // NaN here, which `num` declines.
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L && !defined(KDM_WITHOUT_FROM_CHARS)
    // Whatever the process's locale.
    if (std::from_chars(start, p, out).ec != std::errc()) out = std::nan("");
#else
    // A C++ library without from_chars for doubles: strtod. Where a locale makes it read less than the whole number
    // (a decimal comma), or the number is out of range, the record is declined all the same.
    const std::string text(start, p);
    char* stop = nullptr;
    errno = 0;
    out = std::strtod(text.c_str(), &stop);
    if (errno == ERANGE || stop != text.c_str() + text.size()) out = std::nan("");
#endif
    return true;
  }
  bool literal(const char* lit, size_t len) {
    if (static_cast<size_t>(end - p) < len || std::memcmp(p, lit, len) != 0) return fail();
    p += len;
    return true;
  }
  // Any value, checked and passed over.
  bool skip(int depth) {
    if (depth > kMaxDepth) return fail();
    ws();
    if (p >= end) return fail();
    switch (*p) {
      case '"': {
        Str s;
        bool escaped;
        return string(s, escaped);
      }
      case '{':
        return members(depth, [&](Str, bool) { return skip(depth + 1); });
      case '[':
        return elements([&]() { return skip(depth + 1); });
      case 't': return literal(LIT("true"));
      case 'f': return literal(LIT("false"));
      case 'n': return literal(LIT("null"));
      default: {
        double d;
        return number(d);
      }
    }
  }
  // A value read into `f`: strings and numbers kept, objects and arrays passed over (their kind noted).
  bool field(Field& f, int depth) {
    ws();
    if (p >= end) return fail();
    switch (*p) {
      case '"': f.kind = STRING; return string(f.s, f.escaped);
      case 't': f.kind = TRUE_; return literal(LIT("true"));
      case 'f': f.kind = FALSE_; return literal(LIT("false"));
      case 'n': f.kind = NULL_; return literal(LIT("null"));
      case '{': f.kind = OBJECT; return skip(depth);
      case '[': f.kind = ARRAY; return skip(depth);
      default: f.kind = NUMBER; return number(f.number);
    }
  }
  // An object's members: `member(key, keyEscaped)` is called with the scanner at the value, and reads it.
  template <typename F>
  bool members(int depth, F&& member) {
    if (depth > kMaxDepth) return fail();
    p++;  // '{'
    if (at('}')) {
      p++;
      return true;
    }
    for (;;) {
      if (!at('"')) return fail();
      Str key;
      bool escaped;
      if (!string(key, escaped)) return false;
      if (!at(':')) return fail();
      p++;
      ws();
      if (!member(key, escaped)) return false;
      if (at(',')) {
        p++;
        continue;
      }
      if (p < end && *p == '}') {
        p++;
        return true;
      }
      return fail();
    }
  }
  template <typename F>
  bool elements(F&& element) {
    p++;  // '['
    if (at(']')) {
      p++;
      return true;
    }
    for (;;) {
      if (!element()) return false;
      if (at(',')) {
        p++;
        continue;
      }
      if (p < end && *p == ']') {
        p++;
        return true;
      }
      return fail();
    }
  }
};

// ---------------------------------------------------------------------------------------------------------------
// What normalizeRecord's own constants say (src/core/events), handed over by `configure` when a thread loads the
// addon (native-records.ts), so that they are written once, in TypeScript.

struct Names {
  std::vector<std::string> names;
  bool has(const Str& s) const {
    for (const std::string& n : names)
      if (s.eq(n.data(), n.size())) return true;
    return false;
  }
};

struct Vocabulary {
  bool configured = false;
  Names s3ObjectOperations;     // S3_OBJECT_OPERATIONS
  Names principalTypes;         // PRINCIPAL_TYPES
  Names keepsRequestParameters; // OTHER_SELECTABLE_SOURCES: other calls whose request parameters are kept whole
  Names s3CallsKeepingRequestParameters; // S3_CALLS_KEEPING_REQUEST_PARAMETERS: S3 calls whose request parameters are kept whole
  uint32_t maxFieldChars = 0;   // MAX_FIELD_CHARS
  uint32_t maxMapKeyChars = 0;  // MAX_MAP_KEY_CHARS
};
// Per thread: each reader thread loads the addon, and configures it, on its own.
thread_local Vocabulary vocabulary;

// ---------------------------------------------------------------------------------------------------------------
// What a record says, as far as normalizeRecord reads it. `declined` is set by anything the native path does not
// normalize exactly; the record then goes to JavaScript.

struct Resource {
  Field upper;  // "ARN"
  Field lower;  // "arn"
};

struct ContextEntry {
  Str key;
  Str value;
};

struct Context {
  Field whole;  // its kind (OBJECT or not)
  std::vector<ContextEntry> entries;
};

struct Record {
  bool declined = false;
  // Top level
  Field eventVersion, eventSource, eventName, eventTime, timestamp, eventID, awsRegion, sourceIP, userAgent, recipient, shared, vpce,
      errorCode, errorMessage, readOnly, eventType, insightDetails, eventCategory, managementEvent, addendum;
  // An EventBridge envelope's: the reader unwraps or skips such a record before it is counted in a batch.
  Field detailType;
  // userIdentity
  Field identity, uType, uPrincipalId, uArn, uAccount, uAccessKey, uInvokedBy, uUserName, uSessionContext, uIssuer, uIssuerArn, uOnBehalfOf,
      uUserId;
  // requestParameters
  Field request, keyId, sourceKeyId, keySpec, numberOfBytes, encryptionAlgorithm, pendingWindowInDays, policy, aliasName, targetKeyId,
      grantee, operations, destinationKeyId, bypassLockoutCheck, bucketName, objectKey, sseHeader, sseKeyId, sseKmsKeyId, sseCustomerAlgorithm, copySource;
  Context encryptionContext, sourceEncryptionContext, destinationEncryptionContext;
  // resources
  Field resourcesField;
  std::vector<Resource> resources;
  // additionalEventData
  Field additional, bytesIn, bytesOut, sseApplied, authenticationMethod;
  // responseElements
  Field response, responseSseKeyId;

  // Every field absent again; the lists keep what they have grown to.
  void reset() {
    std::vector<Resource> keptResources = std::move(resources);
    std::vector<ContextEntry> kept[3] = {std::move(encryptionContext.entries), std::move(sourceEncryptionContext.entries),
                                         std::move(destinationEncryptionContext.entries)};
    *this = Record();
    keptResources.clear();
    resources = std::move(keptResources);
    Context* contexts[3] = {&encryptionContext, &sourceEncryptionContext, &destinationEncryptionContext};
    for (int i = 0; i < 3; i++) {
      kept[i].clear();
      contexts[i]->entries = std::move(kept[i]);
    }
  }

};

// Reads a member's value into `f`; a key given twice in one object declines the record (JSON.parse keeps the last
// value at the first one's place).
inline bool readInto(Scanner& sc, Record& r, Field& f, int depth) {
  if (f.present()) r.declined = true;
  return sc.field(f, depth);
}

// An object whose members `read` picks from; anything else is read into `f` as a plain field.
template <typename F>
bool objectInto(Scanner& sc, Record& r, Field& f, int depth, F&& read) {
  if (f.present()) r.declined = true;
  if (sc.p >= sc.end || *sc.p != '{') return sc.field(f, depth);
  f.kind = OBJECT;
  return sc.members(depth, [&](Str key, bool escaped) {
    // An escaped key may spell a name read below: decline rather than compare it unescaped.
    if (escaped) r.declined = true;
    return read(key);
  });
}

bool readContext(Scanner& sc, Record& r, Context& c, int depth) {
  if (c.whole.present()) r.declined = true;
  if (sc.p >= sc.end || *sc.p != '{') return sc.field(c.whole, depth);
  c.whole.kind = OBJECT;
  return sc.members(depth, [&](Str key, bool keyEscaped) {
    Field value;
    if (!sc.field(value, depth + 1)) return false;
    // stringMap: keys in Object.keys order (integer-like keys would come first), clipped at 256; values strings.
    bool allDigits = key.n > 0;
    for (uint32_t i = 0; i < key.n && allDigits; i++) allDigits = key.p[i] >= '0' && key.p[i] <= '9';
    if (keyEscaped || allDigits || key.n > vocabulary.maxMapKeyChars || value.kind != STRING || value.escaped || value.s.n > vocabulary.maxFieldChars ||
        c.entries.size() >= 64)
      r.declined = true;
    for (const ContextEntry& e : c.entries)
      if (e.key.n == key.n && std::memcmp(e.key.p, key.p, key.n) == 0) r.declined = true;
    if (!r.declined) c.entries.push_back(ContextEntry{key, value.s});
    return true;
  });
}

bool readRecord(Scanner& sc, Record& r, int depth) {
  return sc.members(depth, [&](Str k, bool escaped) -> bool {
    if (escaped) {
      r.declined = true;
      return sc.skip(depth + 1);
    }
    switch (k.n) {
      case 9:
        if (EQ(k, "eventName")) return readInto(sc, r, r.eventName, depth + 1);
        if (EQ(k, "eventTime")) return readInto(sc, r, r.eventTime, depth + 1);
        if (EQ(k, "awsRegion")) return readInto(sc, r, r.awsRegion, depth + 1);
        if (EQ(k, "userAgent")) return readInto(sc, r, r.userAgent, depth + 1);
        if (EQ(k, "errorCode")) return readInto(sc, r, r.errorCode, depth + 1);
        if (EQ(k, "eventType")) return readInto(sc, r, r.eventType, depth + 1);
        if (EQ(k, "resources")) {
          if (r.resourcesField.present()) r.declined = true;
          if (sc.p >= sc.end || *sc.p != '[') return sc.field(r.resourcesField, depth + 1);
          r.resourcesField.kind = ARRAY;
          return sc.elements([&]() -> bool {
            r.resources.emplace_back();
            Resource& res = r.resources.back();
            if (!sc.at('{')) {
              Field ignored;  // not an object: resourceArnOf gives undefined
              return sc.field(ignored, depth + 2);
            }
            return sc.members(depth + 2, [&](Str a, bool aEscaped) -> bool {
              if (aEscaped) r.declined = true;
              if (EQ(a, "ARN")) return readInto(sc, r, res.upper, depth + 3);
              if (EQ(a, "arn")) return readInto(sc, r, res.lower, depth + 3);
              return sc.skip(depth + 3);
            });
          });
        }
        break;
      case 10:
        if (EQ(k, "@timestamp")) return readInto(sc, r, r.timestamp, depth + 1);
        break;
      case 11:
        if (EQ(k, "eventSource")) return readInto(sc, r, r.eventSource, depth + 1);
        if (EQ(k, "detail-type")) return readInto(sc, r, r.detailType, depth + 1);
        break;
      case 12:
        if (EQ(k, "eventVersion")) return readInto(sc, r, r.eventVersion, depth + 1);
        if (EQ(k, "errorMessage")) return readInto(sc, r, r.errorMessage, depth + 1);
        if (EQ(k, "userIdentity")) {
          return objectInto(sc, r, r.identity, depth + 1, [&](Str u) -> bool {
            const int d = depth + 2;
            if (EQ(u, "type")) return readInto(sc, r, r.uType, d);
            if (EQ(u, "principalId")) return readInto(sc, r, r.uPrincipalId, d);
            if (EQ(u, "arn")) return readInto(sc, r, r.uArn, d);
            if (EQ(u, "accountId")) return readInto(sc, r, r.uAccount, d);
            if (EQ(u, "accessKeyId")) return readInto(sc, r, r.uAccessKey, d);
            if (EQ(u, "invokedBy")) return readInto(sc, r, r.uInvokedBy, d);
            if (EQ(u, "userName")) return readInto(sc, r, r.uUserName, d);
            if (EQ(u, "sessionContext")) {
              return objectInto(sc, r, r.uSessionContext, d, [&](Str c) -> bool {
                if (EQ(c, "sessionIssuer")) {
                  return objectInto(sc, r, r.uIssuer, d + 1, [&](Str i) -> bool {
                    return EQ(i, "arn") ? readInto(sc, r, r.uIssuerArn, d + 2) : sc.skip(d + 2);
                  });
                }
                return sc.skip(d + 1);
              });
            }
            if (EQ(u, "onBehalfOf")) {
              return objectInto(sc, r, r.uOnBehalfOf, d, [&](Str o) -> bool {
                return EQ(o, "userId") ? readInto(sc, r, r.uUserId, d + 1) : sc.skip(d + 1);
              });
            }
            return sc.skip(d);
          });
        }
        break;
      case 7:
        if (EQ(k, "eventID")) return readInto(sc, r, r.eventID, depth + 1);
        break;
      case 8:
        if (EQ(k, "readOnly")) return readInto(sc, r, r.readOnly, depth + 1);
        if (EQ(k, "addendum")) return readInto(sc, r, r.addendum, depth + 1);
        break;
      case 13:
        if (EQ(k, "sharedEventID")) return readInto(sc, r, r.shared, depth + 1);
        if (EQ(k, "vpcEndpointId")) return readInto(sc, r, r.vpce, depth + 1);
        if (EQ(k, "eventCategory")) return readInto(sc, r, r.eventCategory, depth + 1);
        break;
      case 14:
        if (EQ(k, "insightDetails")) return readInto(sc, r, r.insightDetails, depth + 1);
        break;
      case 15:
        if (EQ(k, "sourceIPAddress")) return readInto(sc, r, r.sourceIP, depth + 1);
        if (EQ(k, "managementEvent")) return readInto(sc, r, r.managementEvent, depth + 1);
        break;
      case 17:
        if (EQ(k, "requestParameters")) {
          return objectInto(sc, r, r.request, depth + 1, [&](Str q) -> bool {
            const int d = depth + 2;
            switch (q.n) {
              case 3:
                if (EQ(q, "key")) return readInto(sc, r, r.objectKey, d);
                break;
              case 5:
                if (EQ(q, "keyId")) return readInto(sc, r, r.keyId, d);
                break;
              case 6:
                if (EQ(q, "policy")) return readInto(sc, r, r.policy, d);
                break;
              case 7:
                if (EQ(q, "keySpec")) return readInto(sc, r, r.keySpec, d);
                break;
              case 9:
                if (EQ(q, "aliasName")) return readInto(sc, r, r.aliasName, d);
                break;
              case 10:
                if (EQ(q, "bucketName")) return readInto(sc, r, r.bucketName, d);
                if (EQ(q, "operations")) return readInto(sc, r, r.operations, d);
                break;
              case 11:
                if (EQ(q, "sourceKeyId")) return readInto(sc, r, r.sourceKeyId, d);
                if (EQ(q, "targetKeyId")) return readInto(sc, r, r.targetKeyId, d);
                if (EQ(q, "SSEKMSKeyId")) return readInto(sc, r, r.sseKmsKeyId, d);
                break;
              case 13:
                if (EQ(q, "numberOfBytes")) return readInto(sc, r, r.numberOfBytes, d);
                break;
              case 16:
                if (EQ(q, "granteePrincipal")) return readInto(sc, r, r.grantee, d);
                if (EQ(q, "destinationKeyId")) return readInto(sc, r, r.destinationKeyId, d);
                break;
              case 17:
                if (EQ(q, "encryptionContext")) return readContext(sc, r, r.encryptionContext, d);
                if (EQ(q, "x-amz-copy-source")) return readInto(sc, r, r.copySource, d);
                break;
              case 19:
                if (EQ(q, "encryptionAlgorithm")) return readInto(sc, r, r.encryptionAlgorithm, d);
                if (EQ(q, "pendingWindowInDays")) return readInto(sc, r, r.pendingWindowInDays, d);
                break;
              case 23:
                if (EQ(q, "sourceEncryptionContext")) return readContext(sc, r, r.sourceEncryptionContext, d);
                break;
              case 28:
                if (EQ(q, "destinationEncryptionContext")) return readContext(sc, r, r.destinationEncryptionContext, d);
                if (EQ(q, "x-amz-server-side-encryption")) return readInto(sc, r, r.sseHeader, d);
                break;
              case 30:
                if (EQ(q, "bypassPolicyLockoutSafetyCheck")) return readInto(sc, r, r.bypassLockoutCheck, d);
                break;
              case 43:
                if (EQ(q, "x-amz-server-side-encryption-aws-kms-key-id")) return readInto(sc, r, r.sseKeyId, d);
                break;
              case 47:
                if (EQ(q, "x-amz-server-side-encryption-customer-algorithm")) return readInto(sc, r, r.sseCustomerAlgorithm, d);
                break;
            }
            return sc.skip(d);
          });
        }
        break;
      case 16:
        if (EQ(k, "responseElements")) {
          return objectInto(sc, r, r.response, depth + 1, [&](Str q) -> bool {
            if (EQ(q, "x-amz-server-side-encryption-aws-kms-key-id")) return readInto(sc, r, r.responseSseKeyId, depth + 2);
            return sc.skip(depth + 2);
          });
        }
        break;
      case 18:
        if (EQ(k, "recipientAccountId")) return readInto(sc, r, r.recipient, depth + 1);
        break;
      case 19:
        if (EQ(k, "additionalEventData")) {
          return objectInto(sc, r, r.additional, depth + 1, [&](Str a) -> bool {
            const int d = depth + 2;
            if (EQ(a, "bytesTransferredIn")) return readInto(sc, r, r.bytesIn, d);
            if (EQ(a, "bytesTransferredOut")) return readInto(sc, r, r.bytesOut, d);
            if (EQ(a, "SSEApplied")) return readInto(sc, r, r.sseApplied, d);
            if (EQ(a, "AuthenticationMethod")) return readInto(sc, r, r.authenticationMethod, d);
            return sc.skip(d);
          });
        }
        break;
    }
    return sc.skip(depth + 1);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The transfer codec's tokens (transfer-codec.ts) and the normalized codec's tags (normalized-codec.ts).

enum Token : int32_t { T_UNDEFINED = 0, T_NULL = 1, T_TRUE = 2, T_FALSE = 3, T_NUMBER = 4, T_STRING = 5, T_ARRAY = 6, T_OBJECT = 7, T_NULL_PROTOTYPE = 8 };
enum Tag : int32_t { SKIPPED = 0, FAILED = 1, KMS = 2, S3 = 3, OTHER = 4, PENDING = 5 };

// An optional string: `p == nullptr` is undefined (an empty string has a pointer).
using Opt = Str;
inline bool has(const Opt& s) { return s.p != nullptr; }
const char kEmpty[] = "";

// Text made of parts (ARNs and ids), kept until the call ends: blocks that are never moved, reused call after call.
class TextArena {
 public:
  Str join(std::initializer_list<Str> parts) {
    size_t n = 0;
    for (const Str& part : parts) n += part.n;
    char* at = room(n);
    char* w = at;
    for (const Str& part : parts) {
      if (part.n > 0) std::memcpy(w, part.p, part.n);
      w += part.n;
    }
    return Str{n == 0 ? kEmptyText : at, static_cast<uint32_t>(n)};
  }
  // Forgets the text made so far; keeps the first block for the next call.
  void reset() {
    if (blocks_.size() > 1) blocks_.resize(1);
    current_ = 0;
    used_ = 0;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> bytes;
    size_t size;
  };
  static constexpr size_t kBlockBytes = 64 * 1024;
  static constexpr const char* kEmptyText = "";
  char* room(size_t n) {
    if (blocks_.empty() || used_ + n > blocks_[current_].size) {
      if (!blocks_.empty() && current_ + 1 < blocks_.size()) blocks_.resize(current_ + 1);
      const size_t size = n > kBlockBytes ? n : kBlockBytes;
      blocks_.push_back(Block{std::unique_ptr<char[]>(new char[size]), size});
      current_ = blocks_.size() - 1;
      used_ = 0;
    }
    char* at = blocks_[current_].bytes.get() + used_;
    used_ += n;
    return at;
  }
  std::vector<Block> blocks_;
  size_t current_ = 0;
  size_t used_ = 0;
};

struct Pending {
  uint32_t index;
  Str text;
};

// Strings by their bytes, each once, in open addressing: a batch's table of distinct strings, and the lasting ones.
struct StringTable {
  std::vector<Str> strings;
  std::vector<uint32_t> hashes;  // 0 for a string appended without being looked up (`append`)
  std::vector<int32_t> slots;    // places in `strings`, -1 empty; at most half full

  void reset(size_t slotCount) {
    strings.clear();
    hashes.clear();
    slots.assign(slotCount, -1);
  }
  // The place of `s` (of hash `h`), or -1 with `slot` where it would go.
  int32_t find(const Str& s, uint32_t h, size_t& slot) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const int32_t at = slots[i];
      if (at < 0) {
        slot = i;
        return -1;
      }
      const Str& t = strings[at];
      if (hashes[at] == h && t.n == s.n && std::memcmp(t.p, s.p, s.n) == 0) return at;
    }
  }
  // Adds `s` at the `slot` `find` gave; returns its place.
  int32_t add(const Str& s, uint32_t h, size_t slot) {
    const int32_t at = static_cast<int32_t>(strings.size());
    slots[slot] = at;
    strings.push_back(s);
    hashes.push_back(h);
    if (strings.size() * 2 > slots.size()) grow();
    return at;
  }
  // Adds `s` without it being found later (TokenWriter.unique); returns its place.
  int32_t append(const Str& s) {
    strings.push_back(s);
    hashes.push_back(0);
    return static_cast<int32_t>(strings.size() - 1);
  }
  void grow() {
    std::vector<int32_t> larger(slots.size() * 2, -1);
    const size_t mask = larger.size() - 1;
    for (int32_t at : slots) {
      if (at < 0) continue;
      size_t i = hashes[at] & mask;
      while (larger[i] >= 0) i = (i + 1) & mask;
      larger[i] = at;
    }
    slots.swap(larger);
  }
};

// The strings a reader thread has sent once and the engine's thread keeps (src/adapters/local/lasting-strings.ts):
// a string in the tables of two batches in a row joins the list, and from then on a batch names it by its place
// there (token -1 - place) instead of holding it in its table. Kept only when encodeFile is asked to (the readers'
// threads, whose engine side keeps the same list); bounded, and started again past kMaxStrings or kMaxBytes.
struct LastingStrings {
  static constexpr size_t kMaxStrings = 32768;
  static constexpr size_t kMaxBytes = 2 * 1024 * 1024;
  std::deque<std::string> texts;  // the strings' bytes, which a deque does not move as it grows
  // The texts of lists started again during a call, which its batches handed over at its end may still name.
  std::vector<std::deque<std::string>> retired;
  StringTable table;  // over `texts`
  size_t bytes = 0;
  // The hashes of the strings the last batch's table held, and of those this batch's holds: sets in open
  // addressing, 0 empty. A string whose hash the last batch held joins the list (another string of the same
  // hash then joins too, in vain: harmless).
  std::vector<uint32_t> previous = std::vector<uint32_t>(1024, 0), current = std::vector<uint32_t>(1024, 0);
  size_t currentCount = 0;
  // The list was emptied since the last batch handed over: the next one says so, for the engine's side to empty its own.
  bool restartPending = false;

  LastingStrings() { table.reset(1024); }
  // Adds a copy of `s`, which `table.find` did not find, at the `slot` it gave.
  int32_t add(const Str& s, uint32_t h, size_t slot) {
    texts.emplace_back(s.p, s.n);
    bytes += s.n;
    return table.add(Str{texts.back().data(), s.n}, h, slot);
  }
  static bool holds(const std::vector<uint32_t>& set, uint32_t h) {
    const size_t mask = set.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (set[i] == 0) return false;
      if (set[i] == h) return true;
    }
  }
  void note(uint32_t h) {
    if ((currentCount + 1) * 2 > current.size()) {
      std::vector<uint32_t> larger(current.size() * 2, 0);
      for (uint32_t x : current)
        if (x != 0) insert(larger, x);
      current.swap(larger);
    }
    if (insert(current, h)) currentCount++;
  }
  static bool insert(std::vector<uint32_t>& set, uint32_t h) {
    const size_t mask = set.size() - 1;
    size_t i = h & mask;
    for (; set[i] != 0; i = (i + 1) & mask)
      if (set[i] == h) return false;
    set[i] = h;
    return true;
  }
  // A batch begins: the one before it is now the last. True when the list starts again with this batch.
  bool nextBatch() {
    previous.swap(current);
    std::fill(current.begin(), current.end(), 0);
    currentCount = 0;
    if (!restartPending && table.strings.size() < kMaxStrings && bytes < kMaxBytes) return false;
    clear();
    return true;
  }
  void clear() {
    retired.push_back(std::move(texts));  // a moved deque keeps its elements where they are
    texts.clear();
    table.reset(1024);
    bytes = 0;
    restartPending = false;
  }
};
thread_local LastingStrings lastingStrings;

// One batch's encoding: its tokens, numbers and table of distinct strings.
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<double> numbers;
  StringTable table;
  TextArena* arena;  // strings built here (ARNs and ids made of parts)
  uint32_t firstIndex = 0;
  uint32_t count = 0;
  // Records left to JavaScript, each with its text: a PENDING tag holds its place.
  std::vector<Pending> pending;
  // With the lasting strings (see LastingStrings): those this batch adds to the list, in turn, and whether the list
  // started again with it.
  LastingStrings* lasting = nullptr;
  std::vector<Str> lastingAdded;
  bool lastingRestarted = false;

  // Empties the batch for records from `first`, keeping what its lists have grown to.
  void reset(uint32_t first, TextArena* text, LastingStrings* kept) {
    tokens.clear();
    numbers.clear();
    pending.clear();
    lasting = kept;
    lastingAdded.clear();
    lastingRestarted = kept != nullptr && kept->nextBatch();
    table.reset(512);
    tokens.push_back(0);  // the count, set when the batch ends
    arena = text;
    firstIndex = first;
    count = 0;
  }

  static uint32_t hash(const Str& s) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.n;
    uint32_t i = 0;
    for (; i + 8 <= s.n; i += 8) {
      uint64_t w;
      std::memcpy(&w, s.p + i, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.p + i, s.n - i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return static_cast<uint32_t>(h) | 1;  // never 0
  }

  int32_t distinct(const Str& s) {
    const uint32_t h = hash(s);
    size_t lastingSlot = 0;
    if (lasting != nullptr) {
      const int32_t kept = lasting->table.find(s, h, lastingSlot);
      if (kept >= 0) return -1 - kept;
    }
    size_t slot;
    const int32_t at = table.find(s, h, slot);
    if (at >= 0) return at;
    if (lasting != nullptr) {
      if (LastingStrings::holds(lasting->previous, h)) {
        const int32_t kept = lasting->add(s, h, lastingSlot);
        lastingAdded.push_back(lasting->table.strings[kept]);
        return -1 - kept;
      }
      lasting->note(h);
    }
    return table.add(s, h, slot);
  }
  Str make(std::initializer_list<Str> parts) { return arena->join(parts); }

  void tag(int32_t t) { tokens.push_back(t); }
  // TokenWriter.value of a string or undefined.
  void value(const Opt& s) {
    if (!has(s)) tokens.push_back(T_UNDEFINED);
    else {
      tokens.push_back(T_STRING);
      tokens.push_back(distinct(s));
    }
  }
  // TokenWriter.unique: not looked up in the table.
  void unique(const Opt& s) {
    if (!has(s)) tokens.push_back(T_UNDEFINED);
    else {
      tokens.push_back(T_STRING);
      tokens.push_back(table.append(s));
    }
  }
  void number(double d) {
    tokens.push_back(T_NUMBER);
    numbers.push_back(d);
  }
  void boolean(bool b) { tokens.push_back(b ? T_TRUE : T_FALSE); }
  void undefined() { tokens.push_back(T_UNDEFINED); }
  void key(const Str& k) { tokens.push_back(distinct(k)); }
  size_t mark() const { return tokens.size(); }
  // Drops what a declined record wrote (its strings stay in the table, unread).
  void rewind(size_t tokenMark, size_t numberMark) {
    tokens.resize(tokenMark);
    numbers.resize(numberMark);
  }
};

// ---------------------------------------------------------------------------------------------------------------
// normalizeRecord (src/core/events/normalize.ts, fields.ts, principal.ts), for what it reads as this path reads it.
// Each helper returns false to decline the record.


// str(v): a non-empty string, clipped at 2,048 UTF-16 units. A string of at most 2,048 bytes has at most that many
// units, and valid UTF-8 without escapes holds no lone surrogate: longer or escaped strings are declined.
bool str(const Field& f, Opt& out) {
  out = Opt{};
  if (f.kind != STRING || f.s.n == 0) return true;
  if (f.escaped || f.s.n > vocabulary.maxFieldChars) return false;
  out = f.s;
  return true;
}

// num(v): a finite number; numeric strings (which Number() reads) and numbers past a double's range are declined.
bool num(const Field& f, bool& present, double& out) {
  present = false;
  if (f.kind == STRING || (f.kind == NUMBER && std::isnan(f.number))) return false;
  if (f.kind != NUMBER) return true;
  present = std::isfinite(f.number);
  out = f.number;
  return true;
}

bool isDigits(const Str& s) {
  for (uint32_t i = 0; i < s.n; i++)
    if (s.p[i] < '0' || s.p[i] > '9') return false;
  return true;
}

int twoDigits(const char* p) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
  return (p[0] - '0') * 10 + (p[1] - '0');
}

int daysInMonth(int year, int month) {
  if (month == 2) return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28;
  return (month == 4 || month == 6 || month == 9 || month == 11) ? 30 : 31;
}

int64_t daysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// fields.ts canonicalTimeMs: `2026-10-07T15:56:53Z` or `…53.718Z`. Anything else (and years before 100, which
// Date.UTC reads as 19xx) is declined: JavaScript's general parser decides.
bool canonicalTimeMs(const Str& v, double& out) {
  if ((v.n != 20 && v.n != 24) || v.p[v.n - 1] != 'Z') return false;
  const char* s = v.p;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  const int century = twoDigits(s), yy = twoDigits(s + 2), month = twoDigits(s + 5), day = twoDigits(s + 8), hour = twoDigits(s + 11),
            minute = twoDigits(s + 14), second = twoDigits(s + 17);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return false;
  const int year = century * 100 + yy;
  if (year < 100 || day > daysInMonth(year, month)) return false;
  int ms = 0;
  if (v.n == 24) {
    if (s[19] != '.') return false;
    const int a = s[20] - '0', b = twoDigits(s + 21);
    if (a < 0 || a > 9 || b < 0) return false;
    ms = a * 100 + b;
  }
  out = static_cast<double>((((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second) * 1000 + ms);
  return true;
}

// /^1\.\d{1,2}$/
bool supportedEventVersion(const Str& v) {
  if (v.n < 3 || v.n > 4 || v.p[0] != '1' || v.p[1] != '.') return false;
  return isDigits(v.from(2));
}

bool isAwsServiceMarker(const Opt& v) {
  if (!has(v)) return false;
  return STARTS(v, "AWS Internal") || EQ(v, "amazonaws.com") || v.ends(LIT(".amazonaws.com"));
}

// ASCII whitespace as \s matches it (the callers decline text that is not ASCII).
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// The partition's end: `arn:` then one or more characters other than ':' (the index of the colon after them), or -1.
int64_t afterPartition(const Str& s) {
  if (!STARTS(s, "arn:")) return -1;
  const int64_t colon = s.findChar(':', 4);
  return colon > 4 ? colon : -1;
}

// KEY_ARN: /^arn:[^:]+:kms:[^:]*:(\d{12}):key\/[^/\s]+$/, its account; the ARN must be ASCII (declined otherwise).
// Returns false to decline; `matched` says whether it is a key ARN.
bool keyArnAccount(const Str& arn, bool& matched, Str& account) {
  matched = false;
  if (!arn.ascii()) return false;
  const int64_t c1 = afterPartition(arn);
  if (c1 < 0 || !arn.from(c1).starts(LIT(":kms:"))) return true;
  const int64_t c3 = arn.findChar(':', static_cast<uint32_t>(c1 + 5));
  if (c3 < 0 || c3 + 13 + 5 > arn.n) return true;
  const Str digits = arn.slice(c3 + 1, c3 + 13);
  if (!isDigits(digits) || !arn.from(c3 + 13).starts(LIT(":key/"))) return true;
  const Str id = arn.from(c3 + 18);
  if (id.n == 0) return true;
  for (uint32_t i = 0; i < id.n; i++)
    if (id.p[i] == '/' || isSpace(id.p[i])) return true;
  matched = true;
  account = digits;
  return true;
}

// ALIAS_ARN: /^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/, its alias (ASCII only, as above).
bool aliasOfArn(const Str& arn, bool& matched, Str& alias) {
  matched = false;
  if (!arn.ascii()) return false;
  const int64_t c1 = afterPartition(arn);
  if (c1 < 0 || !arn.from(c1).starts(LIT(":kms:"))) return true;
  const int64_t c3 = arn.findChar(':', static_cast<uint32_t>(c1 + 5));
  if (c3 < 0 || c3 + 13 > arn.n || !isDigits(arn.slice(c3 + 1, c3 + 13))) return true;
  const Str rest = arn.from(c3 + 13);
  if (!rest.starts(LIT(":alias/")) || rest.n < 8) return true;
  matched = true;
  alias = rest.from(1);
  return true;
}

bool isHexLower(const Str& s) {
  for (uint32_t i = 0; i < s.n; i++) {
    const char c = s.p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// BARE_KEY_ID: /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
bool isBareKeyId(const Str& s) {
  if (s.n == 36 && STARTS(s, "mrk-")) return isHexLower(s.from(4));
  if (s.n != 36) return false;
  for (uint32_t i : {8u, 13u, 18u, 23u})
    if (s.p[i] != '-') return false;
  return isHexLower(s.slice(0, 8)) && isHexLower(s.slice(9, 13)) && isHexLower(s.slice(14, 18)) && isHexLower(s.slice(19, 23)) &&
         isHexLower(s.slice(24, 36));
}


struct Principal {
  Str type;
  Str id;
  bool isAwsService = false;
  Opt arn, sessionName, accountId, accessKeyId;
};

// `s.split(':')[index]`: undefined when there is no such part.
Opt splitPart(const Str& s, int index) {
  uint32_t start = 0;
  for (int part = 0;; part++) {
    const int64_t colon = s.findChar(':', start);
    const uint32_t stop = colon < 0 ? s.n : static_cast<uint32_t>(colon);
    if (part == index) {
      Str out = s.slice(start, stop);
      if (out.n == 0) out.p = kEmpty;
      return out;
    }
    if (colon < 0) return Opt{};
    start = stop + 1;
  }
}

// isServiceLinkedRoleArn: includes ':role/aws-service-role/' or /:role\/(?:.*\/)?AWSServiceRoleFor/ (ASCII only).
bool isServiceLinkedRoleArn(const Str& id) {
  if (id.find(LIT(":role/aws-service-role/")) >= 0) return true;
  const int64_t role = id.find(LIT(":role/"));
  if (role < 0) return false;
  for (int64_t at = id.find(LIT("AWSServiceRoleFor"), static_cast<uint32_t>(role + 6)); at >= 0;
       at = id.find(LIT("AWSServiceRoleFor"), static_cast<uint32_t>(at + 1))) {
    if (at == role + 6 || id.p[at - 1] == '/') return true;
  }
  return false;
}

// ASSUMED_ROLE_ARN: /^arn:([^:]+):sts::(\d{12}):assumed-role\/(.+)$/ → partition, account, rest.
bool assumedRoleParts(const Str& arn, Str& partition, Str& account, Str& rest) {
  const int64_t c1 = afterPartition(arn);
  if (c1 < 0 || !arn.from(c1).starts(LIT(":sts::"))) return false;
  const uint32_t a = static_cast<uint32_t>(c1 + 6);
  if (a + 12 > arn.n || !isDigits(arn.slice(a, a + 12))) return false;
  const Str after = arn.from(a + 12);
  if (!after.starts(LIT(":assumed-role/")) || after.n == 14) return false;
  partition = arn.slice(4, static_cast<uint32_t>(c1));
  account = arn.slice(a, a + 12);
  rest = after.from(14);
  return true;
}

bool normalizePrincipal(const Record& r, Batch& b, Principal& out) {
  if (r.identity.kind != OBJECT) {
    out = Principal{Str{LIT("Unknown")}, kUnknown, false, {}, {}, {}, {}};
    return true;
  }
  Opt rawType, arn, accountId, accessKeyId, principalId;
  if (!str(r.uType, rawType) || !str(r.uArn, arn) || !str(r.uAccount, accountId) || !str(r.uAccessKey, accessKeyId) || !str(r.uPrincipalId, principalId))
    return false;
  // The ids below are compared and cut as ASCII.
  if (!arn.ascii() || !principalId.ascii() || !accountId.ascii()) return false;
  Str type{LIT("Unknown")};
  if (has(rawType)) {
    if (vocabulary.principalTypes.has(rawType)) type = rawType;
  } else if (!has(arn) && !has(principalId)) {
    // isServiceEventIdentity: an AWS service event names no type, only the account and invokedBy.
    Opt invokedBy;
    if (!str(r.uInvokedBy, invokedBy)) return false;
    if (has(invokedBy)) type = Str{LIT("AWSService")};
  }
  out = Principal{type, {}, false, arn, {}, accountId, accessKeyId};
  const Str account = has(accountId) ? accountId : kUnknown;
  if (EQ(type, "Root")) {
    out.id = has(arn) ? arn : b.make({S("arn:aws:iam::"), account, S(":root")});
  } else if (EQ(type, "IAMUser")) {
    Opt userName;
    if (!str(r.uUserName, userName)) return false;
    out.id = has(arn) ? arn : b.make({S("iam-user:"), account, S(":"), has(userName) ? userName : has(principalId) ? principalId : kUnknown});
  } else if (EQ(type, "AssumedRole")) {
    Opt issuerArn;
    if (r.uSessionContext.kind == OBJECT && r.uIssuer.kind == OBJECT && !str(r.uIssuerArn, issuerArn)) return false;
    if (!issuerArn.ascii()) return false;
    Str partition, arnAccount, rest;
    const bool assumed = has(arn) && assumedRoleParts(arn, partition, arnAccount, rest);
    Opt sessionFromArn;
    if (has(issuerArn)) {
      out.id = issuerArn;
      // assumedRoleSessionName: after the last '/', if it is within the rest.
      if (assumed) {
        const int64_t slash = rest.lastChar('/');
        if (slash >= 0) sessionFromArn = rest.n - slash - 1 == 0 ? Str{kEmpty, 0} : rest.from(static_cast<uint32_t>(slash + 1));
      }
    } else if (assumed) {
      const int64_t slash = rest.lastChar('/');
      const Str roleName = slash < 0 ? rest : rest.slice(0, static_cast<uint32_t>(slash));
      out.id = b.make({S("arn:"), partition, S(":iam::"), arnAccount, S(":role/"), roleName});
      if (slash >= 0) sessionFromArn = rest.n - slash - 1 == 0 ? Str{kEmpty, 0} : rest.from(static_cast<uint32_t>(slash + 1));
    } else if (has(arn)) {
      out.id = arn;
    } else {
      const Opt first = has(principalId) ? splitPart(principalId, 0) : Opt{};
      out.id = b.make({S("assumed-role:"), account, S(":"), has(first) ? first : kUnknown});
    }
    out.sessionName = has(sessionFromArn) ? sessionFromArn : has(principalId) ? splitPart(principalId, 1) : Opt{};
    out.isAwsService = isServiceLinkedRoleArn(out.id);
  } else if (EQ(type, "FederatedUser")) {
    Opt issuerArn;
    if (r.uSessionContext.kind == OBJECT && r.uIssuer.kind == OBJECT && !str(r.uIssuerArn, issuerArn)) return false;
    out.id = has(issuerArn) ? issuerArn : has(arn) ? arn : b.make({S("federated:"), has(principalId) ? principalId : kUnknown});
  } else if (EQ(type, "AWSService")) {
    Opt invokedBy;
    if (!str(r.uInvokedBy, invokedBy)) return false;
    out.id = has(invokedBy) ? invokedBy : Str{LIT("aws-service")};
    out.isAwsService = true;
  } else if (EQ(type, "AWSAccount")) {
    const Opt first = has(principalId) ? splitPart(principalId, 0) : Opt{};
    out.id = b.make({S("aws-account:"), account, S(":"), has(first) ? first : kUnknown});
  } else if (EQ(type, "IdentityCenterUser")) {
    Opt userId;
    if (r.uOnBehalfOf.kind == OBJECT && !str(r.uUserId, userId)) return false;
    out.id = b.make({S("identity-center:"), has(userId) ? userId : has(principalId) ? principalId : kUnknown});
  } else {
    const bool anonymous = (has(principalId) && EQ(principalId, "anonymous")) || (has(accountId) && EQ(accountId, "ANONYMOUS_PRINCIPAL"));
    out.id = anonymous ? Str{LIT("anonymous")} : b.make({S("unknown:"), has(principalId) ? principalId : has(arn) ? arn : kUnknown});
  }
  return true;
}

// resourceArnOf: "ARN", else "arn", each a non-empty string.
bool resourceArnOf(const Resource& res, Opt& out) {
  Opt upper, lower;
  if (!str(res.upper, upper) || !str(res.lower, lower)) return false;
  out = has(upper) ? upper : lower;
  return true;
}

// contextOf: the first of the three that is an object.
const Context* contextOf(const Record& r) {
  if (r.request.kind != OBJECT) return nullptr;
  for (const Context* c : {&r.encryptionContext, &r.sourceEncryptionContext, &r.destinationEncryptionContext})
    if (c->whole.kind == OBJECT) return c;
  return nullptr;
}

Str partitionOfRegion(const Str& region) {
  if (STARTS(region, "cn-")) return Str{LIT("aws-cn")};
  if (STARTS(region, "us-gov-")) return Str{LIT("aws-us-gov")};
  return Str{LIT("aws")};
}

// Writes the record's result into `b`; false declines it (nothing of it is kept).
bool normalize(const Record& r, Batch& b) {
  if (r.declined) return false;
  // A type or category written with escapes is compared by JavaScript, unescaped.
  if ((r.eventType.kind == STRING && r.eventType.escaped) || (r.eventCategory.kind == STRING && r.eventCategory.escaped)) return false;
  if ((r.eventType.kind == STRING && EQ(r.eventType.s, "AwsCloudTrailInsight")) || r.insightDetails.present()) {
    b.tag(SKIPPED);
    b.value(Str{LIT("insight-event")});
    return true;
  }
  // A network activity event, the VPC endpoint owner's record of a call: left to JavaScript, which keeps KMS's and
  // S3's (a rare record, not worth a kind of its own here) and skips the others'.
  if ((r.eventCategory.kind == STRING && EQ(r.eventCategory.s, "NetworkActivity")) || (r.eventType.kind == STRING && EQ(r.eventType.s, "AwsVpceEvent"))) return false;
  // An update of an event goes by its original's eventID (normalizeRecord's updatedEventIdOf): left to JavaScript.
  if (r.addendum.present()) return false;
  // Failures are worded by JavaScript.
  if (r.eventVersion.present() && (r.eventVersion.kind != STRING || r.eventVersion.escaped || !supportedEventVersion(r.eventVersion.s))) return false;
  Opt eventSource, eventName, eventId, region, sourceIp, recipient, userAgent, shared, vpce, errorCode, errorMessage;
  if (!str(r.eventSource, eventSource) || !has(eventSource) || !str(r.eventName, eventName) || !has(eventName)) return false;
  double eventTimeMs;
  if (r.eventTime.kind != STRING || r.eventTime.escaped || !canonicalTimeMs(r.eventTime.s, eventTimeMs)) return false;
  if (!str(r.eventID, eventId) || !str(r.awsRegion, region) || !str(r.sourceIP, sourceIp) || !str(r.recipient, recipient) ||
      !str(r.userAgent, userAgent) || !str(r.shared, shared) || !str(r.vpce, vpce) || !str(r.errorCode, errorCode) ||
      !str(r.errorMessage, errorMessage))
    return false;
  if (!has(region)) region = kUnknown;
  // bool(v): a boolean, or the strings 'true' and 'false'.
  int readOnly = -1;
  if (r.readOnly.kind == TRUE_) readOnly = 1;
  else if (r.readOnly.kind == FALSE_) readOnly = 0;
  else if (r.readOnly.kind == STRING) {
    if (r.readOnly.escaped) return false;
    if (EQ(r.readOnly.s, "true")) readOnly = 1;
    else if (EQ(r.readOnly.s, "false")) readOnly = 0;
  }
  Principal principal;
  if (!normalizePrincipal(r, b, principal)) return false;

  const bool kms = EQ(eventSource, "kms.amazonaws.com");
  const bool s3 = EQ(eventSource, "s3.amazonaws.com");
  const bool requestObject = r.request.kind == OBJECT;
  // The S3 access fields, worked out before anything is written.
  bool s3Access = false;
  Opt bucket, objectKey, objectArn, sseApplied, requestedKmsKeyId, appliedKmsKeyId, copySource;
  bool bytesInPresent = false, bytesOutPresent = false, isDataEvent = false, presigned = false;
  double bytesIn = 0, bytesOut = 0;
  if (s3) {
    // An escaped eventCategory was declined above.
    isDataEvent = (r.eventCategory.kind == STRING && EQ(r.eventCategory.s, "Data")) || r.managementEvent.kind == FALSE_;
    if (isDataEvent || vocabulary.s3ObjectOperations.has(eventName)) {
      if (requestObject && !str(r.bucketName, bucket)) return false;
      if (r.resourcesField.kind == ARRAY) {
        for (const Resource& res : r.resources) {
          Opt arn;
          if (!resourceArnOf(res, arn)) return false;
          if (!has(arn) || !STARTS(arn, "arn:aws")) continue;
          const int64_t at = arn.find(LIT(":s3:::"));
          if (at < 0) continue;
          const Str path = arn.from(static_cast<uint32_t>(at + 6));
          const int64_t slash = path.findChar('/');
          if (slash > 0) {
            if (!has(objectArn)) objectArn = arn;
            if (!has(bucket)) bucket = path.slice(0, static_cast<uint32_t>(slash));
          } else if (path.n > 0 && !has(bucket)) {
            bucket = path;
          }
        }
      }
      if (has(bucket)) {
        s3Access = true;
        if (!has(eventId)) return false;
        if (requestObject && !str(r.objectKey, objectKey)) return false;
        if (!has(objectArn) && has(objectKey)) objectArn = b.make({S("arn:"), partitionOfRegion(region), S(":s3:::"), bucket, S("/"), objectKey});
        const bool aed = r.additional.kind == OBJECT;
        Opt sseHeader, applied, keyHeader, sseKms, customerAlgorithm;
        Opt authenticationMethod;
        if (aed && (!num(r.bytesIn, bytesInPresent, bytesIn) || !num(r.bytesOut, bytesOutPresent, bytesOut) || !str(r.sseApplied, applied) ||
                    !str(r.authenticationMethod, authenticationMethod)))
          return false;
        presigned = has(authenticationMethod) && (EQ(authenticationMethod, "QueryString") || EQ(authenticationMethod, "HtmlForm"));
        if (requestObject && (!str(r.sseHeader, sseHeader) || !str(r.sseKeyId, keyHeader) || !str(r.sseKmsKeyId, sseKms) || !str(r.sseCustomerAlgorithm, customerAlgorithm) ||
                              !str(r.copySource, copySource)))
          return false;
        if (has(applied)) sseApplied = applied;
        else if (has(customerAlgorithm)) sseApplied = Str{LIT("SSE_C")};
        else if (has(sseHeader)) {
          if (EQ(sseHeader, "aws:kms")) sseApplied = Str{LIT("SSE_KMS")};
          else if (EQ(sseHeader, "aws:kms:dsse")) sseApplied = Str{LIT("DSSE_KMS")};
          else if (EQ(sseHeader, "AES256")) sseApplied = Str{LIT("SSE_S3")};
        }
        requestedKmsKeyId = has(keyHeader) ? keyHeader : sseKms;
        if (r.response.kind == OBJECT && !str(r.responseSseKeyId, appliedKmsKeyId)) return false;
      }
    }
  }
  // Other calls whose request parameters are kept whole (of those sources, and S3's default-encryption calls):
  // JavaScript keeps them.
  if (!kms && !s3Access && (vocabulary.keepsRequestParameters.has(eventSource) || (s3 && vocabulary.s3CallsKeepingRequestParameters.has(eventName))))
    return false;
  if (kms && !has(eventId)) return false;

  // KMS fields, worked out before anything is written.
  Opt keyArn, keyAccountId, keyAlias, keyIdParameter, invokedBy, s3Arn;
  const Context* context = nullptr;
  Opt keySpec, encryptionAlgorithm, aliasName, targetKeyId, grantee;
  bool windowPresent = false;
  double window = 0;
  if (kms) {
    if (requestObject) {
      Opt keyId, sourceKeyId;
      if (!str(r.keyId, keyId) || !str(r.sourceKeyId, sourceKeyId)) return false;
      keyIdParameter = has(keyId) ? keyId : sourceKeyId;
    }
    if (r.resourcesField.kind == ARRAY) {
      for (const Resource& res : r.resources) {
        Opt arn;
        if (!resourceArnOf(res, arn)) return false;
        if (!has(arn)) continue;
        bool matched;
        Str account;
        if (!keyArnAccount(arn, matched, account)) return false;
        if (matched) {
          keyArn = arn;
          keyAccountId = account;
          break;
        }
      }
    }
    if (has(keyIdParameter)) {
      bool matched;
      Str alias;
      if (!aliasOfArn(keyIdParameter, matched, alias)) return false;
      if (matched) keyAlias = alias;
      else if (STARTS(keyIdParameter, "alias/")) keyAlias = keyIdParameter;
      else if (!has(keyArn)) {
        Str account;
        if (!keyArnAccount(keyIdParameter, matched, account)) return false;
        if (matched) {
          keyArn = keyIdParameter;
          keyAccountId = account;
        } else {
          const Opt caller = has(principal.accountId) ? principal.accountId : recipient;
          if (isBareKeyId(keyIdParameter) && has(caller) && caller.n == 12 && isDigits(caller)) {
            if (!region.ascii()) return false;
            keyArn = b.make({S("arn:"), partitionOfRegion(region), S(":kms:"), region, S(":"), caller, S(":key/"), keyIdParameter});
            keyAccountId = caller;
          }
        }
      }
    }
    context = contextOf(r);
    if (context != nullptr)
      for (const ContextEntry& e : context->entries) {
        if (EQ(e.key, "aws:s3:arn")) s3Arn = e.value.n == 0 ? Str{kEmpty, 0} : e.value;
        // A directory or vector bucket's call (normalize.ts, s3ArnOf): rare, and which key counts is read in
        // JavaScript alone.
        else if (EQ(e.key, "aws:s3express:arn") || EQ(e.key, "aws:s3vectors:arn")) return false;
      }
    Opt identityInvokedBy;
    if (r.identity.kind == OBJECT && !str(r.uInvokedBy, identityInvokedBy)) return false;
    invokedBy = has(identityInvokedBy) ? identityInvokedBy
                : isAwsServiceMarker(sourceIp)                 ? sourceIp
                : (!has(sourceIp) && has(userAgent) && userAgent.ends(LIT(".amazonaws.com"))) ? userAgent
                                                                                           : Opt{};
    if (requestObject) {
      Opt policy;
      if (!str(r.keySpec, keySpec) || !str(r.encryptionAlgorithm, encryptionAlgorithm) || !num(r.pendingWindowInDays, windowPresent, window) ||
          !str(r.aliasName, aliasName) || !str(r.targetKeyId, targetKeyId) || !str(r.grantee, grantee))
        return false;
      // A key policy is kept up to 32 KB: JavaScript clips it.
      if (r.policy.kind == STRING && r.policy.s.n > 0) return false;
      // A grant's operations, a list: JavaScript keeps them (CreateGrant is rare).
      if (r.operations.present()) return false;
      // ReEncrypt's destination key: JavaScript keeps it (ReEncrypt is rare).
      if (r.destinationKeyId.present()) return false;
      // Whether a key policy skipped KMS's lockout check: JavaScript keeps it (PutKeyPolicy and CreateKey are rare).
      if (r.bypassLockoutCheck.present()) return false;
      if (!has(keySpec) && r.numberOfBytes.present()) keySpec = Str{LIT("BYTES")};
    }
  }

  // Everything is known: write the event, field by field in normalized-codec.ts's order.
  b.tag(kms ? KMS : s3Access ? S3 : OTHER);
  b.unique(kms || s3Access || has(eventId) ? eventId : Str{kEmpty, 0});
  b.unique(shared);
  b.number(eventTimeMs);
  b.value(eventName);
  b.value(region);
  b.value(principal.type);
  b.value(principal.id);
  b.boolean(principal.isAwsService);
  b.value(principal.arn);
  b.value(principal.sessionName);
  b.value(principal.accountId);
  b.value(principal.accessKeyId);
  b.value(recipient);
  b.value(sourceIp);
  b.value(userAgent);
  b.value(vpce);
  b.value(errorCode);
  b.value(errorMessage);
  if (readOnly < 0) b.undefined();
  else b.boolean(readOnly == 1);
  if (kms) {
    b.value(keyArn);
    b.value(keyAccountId);
    b.value(keyAlias);
    b.value(keyIdParameter);
    if (context == nullptr) b.undefined();
    else {
      b.tag(T_NULL_PROTOTYPE);
      b.tag(static_cast<int32_t>(context->entries.size()));
      for (const ContextEntry& e : context->entries) {
        b.key(e.key.n == 0 ? Str{kEmpty, 0} : e.key);
        b.value(e.value.n == 0 ? Str{kEmpty, 0} : e.value);
      }
    }
    b.value(s3Arn);
    b.value(invokedBy);
    const bool byService = has(invokedBy) || EQ(principal.type, "AWSService");
    b.boolean(byService);
    b.boolean(has(s3Arn) && byService);
    // kmsRequestSummary, its keys in its order.
    b.tag(T_OBJECT);
    const size_t countAt = b.mark();
    b.tag(0);
    int32_t members = 0;
    auto member = [&](const char* name, size_t len, const Opt& v) {
      if (!has(v)) return;
      b.key(Str{name, static_cast<uint32_t>(len)});
      b.value(v);
      members++;
    };
    member(LIT("keySpec"), keySpec);
    member(LIT("encryptionAlgorithm"), encryptionAlgorithm);
    if (windowPresent) {
      b.key(Str{LIT("pendingWindowInDays")});
      b.number(window);
      members++;
    }
    member(LIT("aliasName"), aliasName);
    member(LIT("targetKeyId"), targetKeyId);
    member(LIT("grantee"), grantee);
    b.tokens[countAt] = members;
    b.undefined();  // correlation
    b.undefined();  // s3Request
    return true;
  }
  if (s3Access) {
    b.value(bucket);
    b.value(objectKey);
    b.value(objectArn);
    b.value(b.make({S("arn:"), partitionOfRegion(region), S(":s3:::"), bucket}));
    if (bytesInPresent) b.number(bytesIn);
    else b.undefined();
    if (bytesOutPresent) b.number(bytesOut);
    else b.undefined();
    b.value(sseApplied);
    b.value(requestedKmsKeyId);
    b.value(appliedKmsKeyId);
    b.value(copySource);
    b.boolean(isDataEvent);
    b.boolean(presigned);
    return true;
  }
  b.value(eventSource);
  b.undefined();  // requestParameters: kept only for the sources declined above
  return true;
}


// A gzip file of one member, inflated into `out` (its first `length` bytes). False for anything else: truncated or
// corrupt data, more than one member or bytes after it, or more than `maxBytes` once inflated. JavaScript then
// reads the file as before and says what is wrong with it.
bool gunzipOneMember(const unsigned char* in, size_t n, size_t maxBytes, std::vector<char>& out, size_t& length) {
  if (n < 18 || in[0] != 0x1f || in[1] != 0x8b) return false;
  // The trailer's size (modulo 4 GiB) is where the output starts; it grows from there if the trailer lies.
  const size_t declared = static_cast<size_t>(in[n - 4]) | static_cast<size_t>(in[n - 3]) << 8 | static_cast<size_t>(in[n - 2]) << 16 |
                          static_cast<size_t>(in[n - 1]) << 24;
  size_t capacity = std::min(std::max<size_t>(declared, 16 * 1024), maxBytes) + 1;
  if (out.size() < capacity) out.resize(capacity);
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return false;
  zs.next_in = const_cast<unsigned char*>(in);
  zs.avail_in = static_cast<uInt>(n);
  length = 0;
  bool ok = false;
  for (;;) {
    if (length == out.size()) {
      if (length > maxBytes) break;
      out.resize(std::min(out.size() * 2, maxBytes + 1));
    }
    zs.next_out = reinterpret_cast<unsigned char*>(out.data() + length);
    zs.avail_out = static_cast<uInt>(out.size() - length);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    length = out.size() - zs.avail_out;
    if (length > maxBytes) break;
    if (rc == Z_STREAM_END) {
      ok = zs.avail_in == 0;
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // room to make
    if (rc != Z_OK) break;
  }
  inflateEnd(&zs);
  return ok;
}

// The layout the readers parse in pieces (cloudtrail-files.ts recordsArrayOf): `{"Records":[` at the start, `]}` at
// the end, whitespace around, no line break between. Its start, or -1 (a byte-order mark too is left to JavaScript).
int64_t recordsLayout(const char* p, size_t n) {
  size_t start = 0, end = n;
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (start < n && space(p[start])) start++;
  while (end > start && space(p[end - 1])) end--;
  static const char kOpen[] = "{\"Records\":[";
  const size_t open = sizeof kOpen - 1;
  if (end - start < open + 2 || p[end - 1] != '}' || p[end - 2] != ']' || std::memcmp(p + start, kOpen, open) != 0) return -1;
  if (std::memchr(p + start, '\n', end - start) != nullptr) return -1;
  return static_cast<int64_t>(start);
}

// What a thread keeps from call to call is what CloudTrail's files need (megabytes); after a larger file, it is let go.
void letGoOfLargeFile(std::vector<char>& inflated, std::deque<Batch>& pool) {
  constexpr size_t kKeptBytes = 16 * 1024 * 1024;
  if (inflated.size() > kKeptBytes) std::vector<char>().swap(inflated);
  if (pool.size() > 4) pool.resize(4);
}

// What a reader thread keeps from document to document, grown to what files need.
struct ReaderBuffers {
  std::vector<char> inflated;
  std::deque<Batch> pool;
  TextArena text;
  Record record;
};

enum class Encoded {
  kBatches,    // the records, in buffers.pool's first batchCount batches
  kLeaveText,  // for JavaScript to read from the decompressed bytes (text, textSize): another layout, not JSON, or an
               // EventBridge envelope among the records
  kLeaveFile,  // for JavaScript to read from the file's own bytes: not gzip and not this layout, over maxBytes, or
               // gzip this path does not inflate
};

struct EncodedDocument {
  Encoded outcome = Encoded::kLeaveFile;
  size_t batchCount = 0;
  const char* text = nullptr;
  size_t textSize = 0;
};

// A CloudTrail file's bytes as read from disk (gzip or not), normalized into batches of batchSize records (see
// encodeFile in records.cc for what it hands to JavaScript). What it returns points into `buffers`, valid until the
// next call with them.
EncodedDocument encodeDocument(const char* data, size_t length, uint32_t batchSize, size_t maxBytes, LastingStrings* lasting,
                               ReaderBuffers& buffers) {
  std::deque<Batch>& pool = buffers.pool;
  Record& record = buffers.record;
  const char* base = data;
  size_t size = length;
  const bool gzip = length >= 2 && static_cast<unsigned char>(base[0]) == 0x1f && static_cast<unsigned char>(base[1]) == 0x8b;
  if (gzip) {
    if (!gunzipOneMember(reinterpret_cast<const unsigned char*>(data), length, maxBytes, buffers.inflated, size)) return {};
    base = buffers.inflated.data();
  } else if (length > maxBytes) {
    return {};
  }
  size_t batchCount = 0;
  auto leaveToJavaScript = [&]() -> EncodedDocument {
    // What batches not handed over did to the lasting strings (added to them, or started them again) is on this
    // side only: the list starts again with the next batch handed over.
    if (lasting != nullptr && batchCount > 0) lasting->restartPending = true;
    if (!gzip) return {};  // the file's own bytes are its text
    EncodedDocument left;
    left.outcome = Encoded::kLeaveText;
    left.text = base;
    left.textSize = size;
    return left;
  };
  const int64_t start = recordsLayout(base, size);
  if (start < 0) return leaveToJavaScript();

  buffers.text.reset();
  Scanner sc{base + start, base + size};
  uint32_t index = 0;
  bool sawRecords = false;
  bool layout = true;
  const bool ok = sc.at('{') && sc.members(0, [&](Str key, bool escaped) -> bool {
    if (escaped) layout = false;
    if (!EQ(key, "Records")) return sc.skip(1);
    if (sawRecords || !sc.at('[')) {
      layout = false;  // given twice, or not a list: JavaScript says what it makes of it
      return sc.skip(1);
    }
    sawRecords = true;
    return sc.elements([&]() -> bool {
      if (index % batchSize == 0) {
        if (batchCount == pool.size()) pool.emplace_back();
        pool[batchCount++].reset(index, &buffers.text, lasting);
      }
      Batch& batch = pool[batchCount - 1];
      sc.ws();
      const char* recordStart = sc.p;
      const size_t tokenMark = batch.tokens.size(), numberMark = batch.numbers.size();
      bool encoded = false;
      if (sc.p < sc.end && *sc.p == '{') {
        record.reset();
        if (!readRecord(sc, record, 2)) return false;
        if (record.detailType.present()) layout = false;
        encoded = normalize(record, batch);
      } else if (!sc.skip(2)) {
        return false;
      }
      if (!encoded) {
        batch.rewind(tokenMark, numberMark);
        batch.tag(PENDING);
        batch.pending.push_back(Pending{index, Str{recordStart, static_cast<uint32_t>(sc.p - recordStart)}});
      }
      batch.count++;
      index++;
      return true;
    });
  });
  sc.ws();
  if (!ok || sc.bad || sc.p != sc.end || !sawRecords || !layout) return leaveToJavaScript();
  EncodedDocument done;
  done.outcome = Encoded::kBatches;
  done.batchCount = batchCount;
  return done;
}

}  // namespace
