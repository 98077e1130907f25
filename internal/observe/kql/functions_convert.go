package kql

import "math"

// The convert_* functions take Kusto's unit names (those of the .NET
// library UnitsNet) as constants. tugboat knows the units whose factor is
// exact by definition (SI prefixes, the international yard and pound, the
// thermochemical calorie...) or fixed by a standard, and that UnitsNet
// did not round (US and imperial volumes and the mile it did, so they are
// left out); a valid Kusto unit it does not know is an error naming it, rather than a silently different
// number (one exception: an acre-foot is Kusto's 1/0.000810714 m³, as its
// documented output shows). The conversion is value * factor, planned on
// both engines.
var convertFunctions = map[string]funcDef{
	"convert_angle":       convertSig("angle"),
	"convert_energy":      convertSig("energy"),
	"convert_force":       convertSig("force"),
	"convert_length":      convertSig("length"),
	"convert_mass":        convertSig("mass"),
	"convert_speed":       convertSig("speed"),
	"convert_temperature": convertSig("temperature"),
	"convert_volume":      convertSig("volume"),
}

const (
	inch       = 0.0254
	foot       = 0.3048
	yard       = 0.9144
	mile       = 1609.344
	pound      = 0.45359237
	lightYear  = 9.4607304725808e15
	astroUnit  = 1.495978707e11
	gravity    = 9.80665
	btu        = 1055.05585262
	calorie    = 4.184
	usSurveyFt = 1200.0 / 3937
)

// unitFactors are the units of each quantity in its SI unit (radian,
// joule, newton, meter, kilogram, meter per second, cubic meter).
var unitFactors = map[string]map[string]float64{
	"angle": {
		"Radian": 1, "Degree": math.Pi / 180, "Gradian": math.Pi / 200, "Arcminute": math.Pi / 10800,
		"Arcsecond": math.Pi / 648000, "Revolution": 2 * math.Pi, "Milliradian": 1e-3, "Microradian": 1e-6,
		"Nanoradian": 1e-9, "Centiradian": 1e-2, "Deciradian": 1e-1, "Millidegree": math.Pi / 180e3,
		"Microdegree": math.Pi / 180e6, "Nanodegree": math.Pi / 180e9,
	},
	"energy": {
		"Joule": 1, "Kilojoule": 1e3, "Megajoule": 1e6, "Gigajoule": 1e9, "Terajoule": 1e12, "Millijoule": 1e-3,
		"Calorie": calorie, "Kilocalorie": calorie * 1e3, "BritishThermalUnit": btu, "KilobritishThermalUnit": btu * 1e3,
		"MegabritishThermalUnit": btu * 1e6, "GigabritishThermalUnit": btu * 1e9,
		"WattHour": 3600, "KilowattHour": 3.6e6, "MegawattHour": 3.6e9, "GigawattHour": 3.6e12, "TerawattHour": 3.6e15,
		"Erg":       1e-7,
		"FootPound": foot * pound * gravity,
	},
	"force": {
		"Newton": 1, "Kilonewton": 1e3, "Meganewton": 1e6, "Millinewton": 1e-3, "Micronewton": 1e-6,
		"Decanewton": 10, "Dyn": 1e-5, "KilogramForce": gravity, "TonneForce": gravity * 1e3,
		"PoundForce": pound * gravity, "KilopoundForce": pound * gravity * 1e3, "OunceForce": pound * gravity / 16,
		"Poundal": pound * foot,
	},
	"length": {
		"Meter": 1, "Kilometer": 1e3, "Hectometer": 1e2, "Decameter": 10, "Decimeter": 0.1, "Centimeter": 0.01,
		"Millimeter": 1e-3, "Micrometer": 1e-6, "Nanometer": 1e-9, "Angstrom": 1e-10,
		"Inch": inch, "Foot": foot, "Yard": yard, "NauticalMile": 1852, "Microinch": inch * 1e-6,
		"Mil": inch * 1e-3, "Hand": inch * 4, "Fathom": foot * 6, "Chain": yard * 22, "Shackle": foot * 90,
		"Twip": inch / 1440, "DtpPoint": inch / 72, "DtpPica": inch / 6, "UsSurveyFoot": usSurveyFt,
		"AstronomicalUnit": astroUnit, "LightYear": lightYear, "KilolightYear": lightYear * 1e3,
		"MegalightYear": lightYear * 1e6,
	},
	"mass": {
		"Kilogram": 1, "Gram": 1e-3, "Milligram": 1e-6, "Microgram": 1e-9, "Nanogram": 1e-12, "Decagram": 1e-2,
		"Hectogram": 0.1, "Centigram": 1e-5, "Decigram": 1e-4, "Tonne": 1e3, "Kilotonne": 1e6, "Megatonne": 1e9,
		"Pound": pound, "Kilopound": pound * 1e3, "Megapound": pound * 1e6, "Ounce": pound / 16,
		"Stone": pound * 14, "ShortTon": pound * 2000, "LongTon": pound * 2240, "Grain": pound / 7000,
		"ShortHundredweight": pound * 100, "LongHundredweight": pound * 112,
	},
	"speed": {
		"MeterPerSecond": 1, "MeterPerMinute": 1.0 / 60, "MeterPerHour": 1.0 / 3600,
		"KilometerPerSecond": 1e3, "KilometerPerMinute": 1e3 / 60, "KilometerPerHour": 1e3 / 3600,
		"CentimeterPerSecond": 1e-2, "CentimeterPerMinute": 1e-2 / 60, "CentimeterPerHour": 1e-2 / 3600,
		"MillimeterPerSecond": 1e-3, "MillimeterPerMinute": 1e-3 / 60, "MillimeterPerHour": 1e-3 / 3600,
		"DecimeterPerSecond": 0.1, "DecimeterPerMinute": 0.1 / 60, "MicrometerPerSecond": 1e-6,
		"MicrometerPerMinute": 1e-6 / 60, "NanometerPerSecond": 1e-9, "NanometerPerMinute": 1e-9 / 60,
		"FootPerSecond": foot, "FootPerMinute": foot / 60, "FootPerHour": foot / 3600,
		"InchPerSecond": inch, "InchPerMinute": inch / 60, "InchPerHour": inch / 3600,
		"YardPerSecond": yard, "YardPerMinute": yard / 60, "YardPerHour": yard / 3600,
		"MilePerHour": mile / 3600, "Knot": 1852.0 / 3600,
		"UsSurveyFootPerSecond": usSurveyFt, "UsSurveyFootPerMinute": usSurveyFt / 60, "UsSurveyFootPerHour": usSurveyFt / 3600,
	},
	"volume": {
		"CubicMeter": 1, "CubicKilometer": 1e9, "CubicHectometer": 1e6, "CubicDecimeter": 1e-3, "CubicCentimeter": 1e-6,
		"CubicMillimeter": 1e-9, "CubicMicrometer": 1e-18, "Liter": 1e-3, "Milliliter": 1e-6, "Centiliter": 1e-5,
		"Deciliter": 1e-4, "Hectoliter": 0.1, "Kiloliter": 1, "Megaliter": 1e3, "Microliter": 1e-9,
		"AcreFoot": 1 / 0.000810714, // Kusto's (UnitsNet's) factor, not the exact 1233.48183754752
	},
}

func convertSig(quantity string) funcDef {
	return sig(3, 3, TypeReal, argNumber, argConstString, argConstString).with(func(ck *checker, c *Call, a []texpr) texpr {
		from, _ := constString(a[1])
		to, _ := constString(a[2])
		if quantity == "temperature" {
			f, ok1 := temperatureUnits[from]
			t, ok2 := temperatureUnits[to]
			ck.needUnit(c, 1, from, ok1)
			ck.needUnit(c, 2, to, ok2)
			// value -> kelvin -> to.
			k := &tBinary{op: "+", l: &tBinary{op: "*", l: a[0], r: realLit(f[0]), t: TypeReal}, r: realLit(f[1]), t: TypeReal}
			return &tBinary{op: "/", l: &tBinary{op: "-", l: k, r: realLit(t[1]), t: TypeReal}, r: realLit(t[0]), t: TypeReal}
		}
		f, ok1 := unitFactors[quantity][from]
		t, ok2 := unitFactors[quantity][to]
		ck.needUnit(c, 1, from, ok1)
		ck.needUnit(c, 2, to, ok2)
		return &tBinary{op: "*", l: a[0], r: realLit(f / t), t: TypeReal}
	})
}

// temperatureUnits: kelvin = value * [0] + [1].
var temperatureUnits = map[string][2]float64{
	"Kelvin": {1, 0}, "DegreeCelsius": {1, 273.15}, "DegreeFahrenheit": {5.0 / 9, 273.15 - 32*5.0/9},
	"DegreeRankine": {5.0 / 9, 0}, "MillidegreeCelsius": {1e-3, 273.15},
}

func realLit(v float64) texpr { return &tLiteral{value: v, t: TypeReal} }

func (ck *checker) needUnit(c *Call, i int, unit string, ok bool) {
	if !ok {
		ck.fail(c.Args[i].Position(), "unit %q of %s is unknown or not supported by tugboat (it knows the units with exact factors; see docs/query.md)", unit, c.Name)
	}
}
