{
  "targets": [
    {
      "target_name": "kdm_records",
      "sources": ["records.cc"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_OPTIMIZATION_LEVEL": "2" },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] } }
    }
  ]
}
