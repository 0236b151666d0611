package roster

import "strings"

// Value lists behind the named formats of the profile schema. Country codes are ISO
// 3166-1 alpha-2 (plus XK, as Open edX accepts); languages are the codes Open edX offers
// (ISO 639-1 plus zh_HANS and zh_HANT); US states as Open edX's state field.

var countryCodes = setOf("AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ " +
	"BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM " +
	"DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS " +
	"GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN " +
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
	"MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM " +
	"PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV " +
	"SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI " +
	"VN VU WF WS XK YE YT ZA ZM ZW")

var languageCodes = setOf("aa ab af ak sq am ar an hy as av ae ay az ba bm eu be bn bh bi bs br bg my ca ch ce zh " +
	"zh_HANS zh_HANT cu cv kw co cr cs da dv nl dz en eo et ee fo fj fi fr fy ff ka de gd ga " +
	"gl gv el gn gu ht ha he hz hi ho hr hu ig is io ii iu ie ia id ik it jv ja kl kn ks kr kk " +
	"km ki rw ky kv kg ko kj ku lo la lv li ln lt lb lu lg mk mh ml mi mr ms mg mt mn na nv nr " +
	"nd ng ne nn nb no ny oc oj or om os pa fa pi pl pt ps qu rm ro rn ru sg sa si sk sl se sm " +
	"sn sd so st es sc sr ss su sw sv ty ta tt te tg tl th bo ti to tn ts tk tr tw ug uk ur uz " +
	"ve vi vo cy wa wo xh yi yo za zu")

var usStateCodes = setOf("AL AK AZ AR AA AE AP CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT " +
	"NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY")

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
