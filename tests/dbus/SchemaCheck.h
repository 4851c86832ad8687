// SPDX-License-Identifier: MIT
// Checks a CLI --json document against its schema under schemas/cli/
// (HOARD_SCHEMA_DIR), with valijson. Shared by the CLI tests.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "BusHarness.h"

namespace hoard::bustest {

// What in `doc` breaks schemas/cli/NAME.schema.json, one line per error;
// empty if it conforms.
inline std::string schemaViolations(const nlohmann::json& doc, const std::string& name) {
  nlohmann::json schema_doc =
      nlohmann::json::parse(slurp(std::string(HOARD_SCHEMA_DIR) + "/" + name + ".schema.json"));
  valijson::Schema s;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, s);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (validator.validate(s, target, &results)) return "";
  std::string why;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    for (const auto& c : e.context) why += c;
    why += ": " + e.description + "\n";
  }
  return why.empty() ? "invalid\n" : why;
}

}  // namespace hoard::bustest
