package kql

// Type is a KQL scalar type.
type Type uint8

// The scalar types a column or an expression can have. TypeUnknown is never
// stored in a schema; the checker uses it only after reporting an error.
const (
	TypeUnknown Type = iota
	TypeString
	TypeLong
	TypeInt
	TypeReal
	TypeBool
	TypeDatetime
	TypeTimespan
	TypeDynamic
	TypeGUID
)

// String returns the KQL spelling of the type.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeLong:
		return "long"
	case TypeInt:
		return "int"
	case TypeReal:
		return "real"
	case TypeBool:
		return "bool"
	case TypeDatetime:
		return "datetime"
	case TypeTimespan:
		return "timespan"
	case TypeDynamic:
		return "dynamic"
	case TypeGUID:
		return "guid"
	}
	return "unknown"
}

// ParseType maps a KQL type name (including the aliases Kusto accepts, such
// as double and boolean) to a Type.
func ParseType(name string) (Type, bool) {
	switch name {
	case "string":
		return TypeString, true
	case "long":
		return TypeLong, true
	case "int":
		return TypeInt, true
	case "real", "double":
		return TypeReal, true
	case "bool", "boolean":
		return TypeBool, true
	case "datetime", "date":
		return TypeDatetime, true
	case "timespan", "time":
		return TypeTimespan, true
	case "dynamic":
		return TypeDynamic, true
	case "guid", "uuid", "uniqueid":
		return TypeGUID, true
	}
	return TypeUnknown, false
}

func (t Type) isNumeric() bool { return t == TypeLong || t == TypeInt || t == TypeReal }

func (t Type) isInteger() bool { return t == TypeLong || t == TypeInt }
