// Build-only module: yamlverdicts records what go-yaml v2 reads plain scalars as
// (scripts/record_go_yaml_verdicts.ts; the recorded table is tests/deploy/go_yaml_verdicts.json).
module contrast.local/tools/yamlverdicts

go 1.22

require gopkg.in/yaml.v2 v2.4.0
