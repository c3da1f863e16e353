// A libFuzzer target for the native reader's core (records-core.h): every input is a file a reader could be handed,
// run as the addon runs it, under AddressSanitizer and UndefinedBehaviorSanitizer. Built and run by
// scripts/fuzz-native.mjs (`npm run fuzz`); the suite runs it for a fixed number of inputs (test/integration/native-fuzz.test.ts).
//
// An input's first byte chooses how the file is read, the rest is the file:
//   bit 0     gzip the rest first (so that mutations reach the parser through a valid gzip stream; without it, bytes
//             that begin with gzip's magic reach the inflater as they are)
//   bit 1     keep the lasting strings across batches and inputs, as the replay's reader threads do
//   bits 2-4  the batch size: 1, 2, 3, 7, 64, 200, 1000 or 5000 records
//   bit 5     a cap of 300 bytes on the decompressed size, where the replay's is megabytes
// Beyond what the sanitizers catch, it aborts when what encodeDocument returns breaks what records.cc relies on: batches
// that do not count every record in turn, a record's text outside the file, decompressed text over the cap.
//
// The vocabulary (the lists normalizeRecord's constants give the addon in native-records.ts) is read from the file
// named by KDM_FUZZ_VOCABULARY: a line per list, its name then its values, separated by tabs.
#include "../records-core.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "records-fuzz: %s\n", what);
  std::abort();
}

void readVocabulary() {
  const char* path = std::getenv("KDM_FUZZ_VOCABULARY");
  if (path == nullptr) fail("KDM_FUZZ_VOCABULARY names no file (scripts/fuzz-native.mjs sets it)");
  std::ifstream in(path);
  if (!in) fail("cannot read the vocabulary file KDM_FUZZ_VOCABULARY names");
  Vocabulary v;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, value;
    std::getline(fields, name, '\t');
    std::vector<std::string> values;
    while (std::getline(fields, value, '\t')) values.push_back(value);
    if (name == "s3ObjectOperations") v.s3ObjectOperations.names = values;
    else if (name == "principalTypes") v.principalTypes.names = values;
    else if (name == "keepsRequestParameters") v.keepsRequestParameters.names = values;
    else if (name == "s3CallsKeepingRequestParameters") v.s3CallsKeepingRequestParameters.names = values;
    else if (name == "maxFieldChars" && values.size() == 1) v.maxFieldChars = static_cast<uint32_t>(std::stoul(values[0]));
    else if (name == "maxMapKeyChars" && values.size() == 1) v.maxMapKeyChars = static_cast<uint32_t>(std::stoul(values[0]));
    else if (!name.empty()) fail("the vocabulary file has a line this target does not know");
  }
  if (v.s3ObjectOperations.names.empty() || v.principalTypes.names.empty() || v.s3CallsKeepingRequestParameters.names.empty() || v.maxFieldChars == 0 ||
      v.maxMapKeyChars == 0)
    fail("the vocabulary file lacks a list or a number");
  v.configured = true;
  vocabulary = std::move(v);
}

std::vector<char> gzipped(const uint8_t* data, size_t size) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail("deflateInit2");
  std::vector<char> out(deflateBound(&zs, size) + 32);
  zs.next_in = const_cast<uint8_t*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) fail("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// What makeString does with each string: read all of its bytes (the sanitizers check that they are there).
volatile unsigned char sink;
void touch(const Str& s) {
  unsigned char x = 0;
  for (uint32_t i = 0; i < s.n; i++) x ^= static_cast<unsigned char>(s.p[i]);
  sink = x;
}

const uint32_t kBatchSizes[8] = {1, 2, 3, 7, 64, 200, 1000, 5000};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  readVocabulary();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t how = data[0];
  // A copy of its own, as the addon reads a Buffer of exactly the file's bytes: a read past its end is caught.
  std::vector<char> file;
  if ((how & 1) != 0) file = gzipped(data + 1, size - 1);
  else file.assign(data + 1, data + size);
  std::unique_ptr<char[]> exact(new char[file.size()]);
  if (!file.empty()) std::memcpy(exact.get(), file.data(), file.size());
#if defined(KDM_FUZZ_SELF_CHECK)
  // `npm run fuzz -- --self-check`: a bug planted for the suite to see found, a read one byte past the file's end.
  static const char kMarker[] = "kdm-fuzz-self-check";
  if (std::search(file.begin(), file.end(), kMarker, kMarker + sizeof kMarker - 1) != file.end()) sink = static_cast<unsigned char>(exact[file.size()]);
#endif
  LastingStrings* lasting = (how & 2) != 0 ? &lastingStrings : nullptr;
  const uint32_t batchSize = kBatchSizes[(how >> 2) & 7];
  const size_t maxBytes = (how & 32) != 0 ? 300 : 64 * 1024 * 1024;
  const bool inflated = file.size() >= 2 && static_cast<unsigned char>(file[0]) == 0x1f && static_cast<unsigned char>(file[1]) == 0x8b;

  static ReaderBuffers buffers;
  if (lasting != nullptr) lasting->retired.clear();
  const EncodedDocument document = encodeDocument(exact.get(), file.size(), batchSize, maxBytes, lasting, buffers);
  switch (document.outcome) {
    case Encoded::kLeaveFile:
      return 0;
    case Encoded::kLeaveText:
      if (document.textSize > maxBytes) fail("text over the cap handed to JavaScript");
      touch(Str{document.text, static_cast<uint32_t>(document.textSize)});
      break;
    case Encoded::kBatches: {
      uint32_t next = 0;
      for (size_t i = 0; i < document.batchCount; i++) {
        const Batch& b = buffers.pool[i];
        if (b.firstIndex != next) fail("a batch does not start where the one before it ended");
        if (b.count == 0 || b.count > batchSize) fail("a batch holds no record, or more than the batch size");
        next += b.count;
        for (const Str& s : b.table.strings) touch(s);
        for (const Str& s : b.lastingAdded) touch(s);
        for (const Pending& p : b.pending) {
          if (p.index < b.firstIndex || p.index >= b.firstIndex + b.count) fail("a record left to JavaScript outside its batch");
          const char* text = inflated ? buffers.inflated.data() : exact.get();
          const size_t textSize = inflated ? buffers.inflated.size() : file.size();
          if (p.text.p < text || p.text.p + p.text.n > text + textSize) fail("a record's text outside the file");
          touch(p.text);
        }
      }
      break;
    }
  }
  letGoOfLargeFile(buffers.inflated, buffers.pool);
  return 0;
}
