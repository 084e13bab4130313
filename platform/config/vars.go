package config

// Variable describes one environment variable of Config or of a section.
type Variable struct {
	Name    string
	Field   string
	Default string
}

// Variables lists every variable Config reads, in declaration order.
func Variables() []Variable { return VariablesOf(Config{}) }
