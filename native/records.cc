// kdm_records' N-API calls: what JavaScript calls, around the core in records-core.h, which says what the addon does.
#include <node_api.h>

#include "records-core.h"

namespace {

// ---------------------------------------------------------------------------------------------------------------
// The call

napi_value throwError(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

bool isAscii(const Str& s) { return s.ascii(); }

napi_value makeString(napi_env env, const Str& s) {
  napi_value v;
  if (isAscii(s)) napi_create_string_latin1(env, s.p, s.n, &v);
  else napi_create_string_utf8(env, s.p, s.n, &v);
  return v;
}

napi_value makeBatch(napi_env env, Batch& b) {
  b.tokens[0] = static_cast<int32_t>(b.count);
  napi_value result, tokens, numbers, strings, buffer, v;
  napi_create_object(env, &result);
  void* data;
  napi_create_arraybuffer(env, b.tokens.size() * sizeof(int32_t), &data, &buffer);
  std::memcpy(data, b.tokens.data(), b.tokens.size() * sizeof(int32_t));
  napi_create_typedarray(env, napi_int32_array, b.tokens.size(), buffer, 0, &tokens);
  napi_create_arraybuffer(env, b.numbers.size() * sizeof(double), &data, &buffer);
  if (!b.numbers.empty()) std::memcpy(data, b.numbers.data(), b.numbers.size() * sizeof(double));
  napi_create_typedarray(env, napi_float64_array, b.numbers.size(), buffer, 0, &numbers);
  napi_create_array_with_length(env, b.table.strings.size(), &strings);
  for (size_t i = 0; i < b.table.strings.size(); i++) napi_set_element(env, strings, static_cast<uint32_t>(i), makeString(env, b.table.strings[i]));
  napi_value encoded;
  napi_create_object(env, &encoded);
  napi_set_named_property(env, encoded, "tokens", tokens);
  napi_set_named_property(env, encoded, "numbers", numbers);
  napi_set_named_property(env, encoded, "strings", strings);
  napi_set_named_property(env, result, "encoded", encoded);
  if (b.lasting != nullptr) {
    napi_value lasting, added;
    napi_create_object(env, &lasting);
    napi_create_array_with_length(env, b.lastingAdded.size(), &added);
    for (size_t i = 0; i < b.lastingAdded.size(); i++) napi_set_element(env, added, static_cast<uint32_t>(i), makeString(env, b.lastingAdded[i]));
    napi_set_named_property(env, lasting, "added", added);
    napi_get_boolean(env, b.lastingRestarted, &v);
    napi_set_named_property(env, lasting, "restarted", v);
    napi_set_named_property(env, result, "lasting", lasting);
  }
  napi_create_uint32(env, b.firstIndex, &v);
  napi_set_named_property(env, result, "firstIndex", v);
  napi_create_uint32(env, b.count, &v);
  napi_set_named_property(env, result, "count", v);
  if (!b.pending.empty()) {
    napi_value pending;
    napi_create_array_with_length(env, b.pending.size() * 2, &pending);
    for (size_t i = 0; i < b.pending.size(); i++) {
      napi_create_uint32(env, b.pending[i].index, &v);
      napi_set_element(env, pending, static_cast<uint32_t>(2 * i), v);
      napi_create_string_utf8(env, b.pending[i].text.p, b.pending[i].text.n, &v);
      napi_set_element(env, pending, static_cast<uint32_t>(2 * i + 1), v);
    }
    napi_set_named_property(env, result, "pending", pending);
  }
  return result;
}

// encodeFile(file, batchSize, maxBytes, lasting): a CloudTrail file's bytes as read from disk (gzip or not), normalized:
//   { batches: [{ encoded, firstIndex, count, pending?, lasting? }] }  its records in batches of batchSize; `pending`
//     lists, for each record left to JavaScript, its index and its text, and a PENDING tag holds its place in the
//     tokens; with `lasting` true, `lasting` is { added, restarted }, what the batch does to the thread's lasting
//     strings (LastingStrings), and its tokens name those by -1 - their place in the list;
//   { text: Buffer }  the file's decompressed bytes, for JavaScript to read: another layout, not JSON, or an
//     EventBridge envelope among the records (which the reader unwraps or skips before counting it in a batch);
//   null  for JavaScript to read from the file's own bytes: a file that is not gzip and not this layout, a file over
//     maxBytes, or gzip this path does not inflate.
napi_value EncodeFile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 3) return throwError(env, "encodeFile(file, batchSize, maxBytes, lasting?)");
  bool keepLasting = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &keepLasting);
  LastingStrings* lasting = keepLasting ? &lastingStrings : nullptr;
  // The last call's batches were handed over, their strings made: what they named of lists since started again can go.
  if (lasting != nullptr) lasting->retired.clear();
  void* data = nullptr;
  size_t length = 0;
  bool isBuffer = false;
  napi_is_buffer(env, argv[0], &isBuffer);
  if (!isBuffer || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) return throwError(env, "encodeFile: the file is not a Buffer");
  uint32_t batchSize = 0, maxBytes = 0;
  if (napi_get_value_uint32(env, argv[1], &batchSize) != napi_ok || napi_get_value_uint32(env, argv[2], &maxBytes) != napi_ok || batchSize == 0)
    return throwError(env, "encodeFile: batchSize and maxBytes must be whole numbers, batchSize at least 1");
  if (!vocabulary.configured) return throwError(env, "encodeFile: configure the addon first (native-records.ts does, as it loads it)");

  // A reader thread calls again and again: what the calls fill is kept for the next.
  thread_local ReaderBuffers buffers;
  const EncodedDocument document = encodeDocument(static_cast<const char*>(data), length, batchSize, maxBytes, lasting, buffers);
  napi_value result;
  switch (document.outcome) {
    case Encoded::kLeaveFile:
      napi_get_null(env, &result);
      return result;
    case Encoded::kLeaveText: {
      napi_value bytes;
      void* copy;
      napi_create_object(env, &result);
      napi_create_buffer_copy(env, document.textSize, document.text, &copy, &bytes);
      napi_set_named_property(env, result, "text", bytes);
      break;
    }
    case Encoded::kBatches: {
      napi_value batches;
      napi_create_object(env, &result);
      napi_create_array_with_length(env, document.batchCount, &batches);
      for (size_t i = 0; i < document.batchCount; i++) napi_set_element(env, batches, static_cast<uint32_t>(i), makeBatch(env, buffers.pool[i]));
      napi_set_named_property(env, result, "batches", batches);
      break;
    }
  }
  letGoOfLargeFile(buffers.inflated, buffers.pool);
  return result;
}

bool readNames(napi_env env, napi_value from, const char* property, Names& into) {
  napi_value list;
  bool isArray = false;
  uint32_t length = 0;
  if (napi_get_named_property(env, from, property, &list) != napi_ok || napi_is_array(env, list, &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, list, &length) != napi_ok)
    return false;
  into.names.clear();
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    size_t n = 0;
    if (napi_get_element(env, list, i, &item) != napi_ok || napi_get_value_string_utf8(env, item, nullptr, 0, &n) != napi_ok) return false;
    std::string name(n, '\0');
    napi_get_value_string_utf8(env, item, name.data(), n + 1, &n);
    into.names.push_back(std::move(name));
  }
  return true;
}

bool readCount(napi_env env, napi_value from, const char* property, uint32_t& into) {
  napi_value value;
  return napi_get_named_property(env, from, property, &value) == napi_ok && napi_get_value_uint32(env, value, &into) == napi_ok && into > 0;
}

// configure({ s3ObjectOperations, principalTypes, keepsRequestParameters, s3CallsKeepingRequestParameters, maxFieldChars,
// maxMapKeyChars }): see Vocabulary.
napi_value Configure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) return throwError(env, "configure(vocabulary)");
  Vocabulary v;
  if (!readNames(env, argv[0], "s3ObjectOperations", v.s3ObjectOperations) || !readNames(env, argv[0], "principalTypes", v.principalTypes) ||
      !readNames(env, argv[0], "keepsRequestParameters", v.keepsRequestParameters) ||
      !readNames(env, argv[0], "s3CallsKeepingRequestParameters", v.s3CallsKeepingRequestParameters) || !readCount(env, argv[0], "maxFieldChars", v.maxFieldChars) ||
      !readCount(env, argv[0], "maxMapKeyChars", v.maxMapKeyChars))
    return throwError(env, "configure: s3ObjectOperations, principalTypes, keepsRequestParameters and s3CallsKeepingRequestParameters must be lists of strings, maxFieldChars and maxMapKeyChars whole numbers");
  v.configured = true;
  vocabulary = std::move(v);
  return nullptr;
}

// tuneMalloc(arenaMax, mmapThreshold): glibc's malloc options, as the environment variables kdm's launcher sets
// (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) would have set them when the process started. Returns whether they
// were set: false where the C library is not glibc.
napi_value TuneMalloc(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double arenaMax = 0, mmapThreshold = 0;
  const auto whole = [](double v) { return v >= 1 && v <= INT32_MAX && std::floor(v) == v; };
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 || napi_get_value_double(env, argv[0], &arenaMax) != napi_ok ||
      napi_get_value_double(env, argv[1], &mmapThreshold) != napi_ok || !whole(arenaMax) || !whole(mmapThreshold))
    return throwError(env, "tuneMalloc(arenaMax, mmapThreshold): two whole numbers above 0");
  bool set = false;
#if defined(__GLIBC__)
  set = mallopt(M_ARENA_MAX, static_cast<int>(arenaMax)) == 1 && mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmapThreshold)) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, set, &result);
  return result;
}

// restartLasting(): this thread's lasting strings start again with its next batch, which says so: for one who
// decodes its batches from there on with a list of its own (tests do, one list each).
napi_value RestartLasting(napi_env env, napi_callback_info) {
  lastingStrings.restartPending = true;
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "encodeFile", NAPI_AUTO_LENGTH, EncodeFile, nullptr, &fn);
  napi_set_named_property(env, exports, "encodeFile", fn);
  napi_create_function(env, "configure", NAPI_AUTO_LENGTH, Configure, nullptr, &fn);
  napi_set_named_property(env, exports, "configure", fn);
  napi_create_function(env, "tuneMalloc", NAPI_AUTO_LENGTH, TuneMalloc, nullptr, &fn);
  napi_set_named_property(env, exports, "tuneMalloc", fn);
  napi_create_function(env, "restartLasting", NAPI_AUTO_LENGTH, RestartLasting, nullptr, &fn);
  napi_set_named_property(env, exports, "restartLasting", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
