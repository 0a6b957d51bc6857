package takeout

import (
	"bytes"
	_ "embed"
	"html/template"
	"io"
)

//go:embed index.html.tmpl
var indexText string

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{
	"part": func(l map[string]string, name string) string {
		if t, ok := l["part."+name]; ok {
			return t
		}
		return name
	},
}).Parse(indexText))

// labels are index.html's words, per locale: whole phrases, as notify's messages are.
var labels = map[string]map[string]string{
	"en": {
		"lang": "en", "title": "Your data from Steward", "account": "Account", "started": "Requested",
		"made": "Made", "files": "What this archive holds", "file": "File", "size": "Bytes",
		"sha256": "SHA-256", "missing": "What could not be collected", "none_missing": "Every part was collected.",
		"checkpoint":   "The audit log's signed checkpoint when this archive was made",
		"how":          "Each part is a JSON file beside this page; manifest.json lists every file with its size and SHA-256, so you can check that none was changed.",
		"part.account": "Your account", "part.sanctions": "Sanctions and the notices about them",
		"part.appeals": "Your appeals", "part.reports": "Reports you filed", "part.wallet": "Your wallets and statements",
		"part.personal_data": "Your personal data", "part.access_log": "Every access to your personal data, with proofs",
	},
	"zh-CN": {
		"lang": "zh-CN", "title": "您在 Steward 的数据", "account": "账号", "started": "申请时间",
		"made": "生成时间", "files": "本压缩包包含的内容", "file": "文件", "size": "字节",
		"sha256": "SHA-256", "missing": "未能收集的部分", "none_missing": "所有部分均已收集。",
		"checkpoint":   "生成本压缩包时审计日志的签名检查点",
		"how":          "每一部分都是与本页面同目录的 JSON 文件；manifest.json 列出了每个文件的大小和 SHA-256，您可以据此核对文件未被改动。",
		"part.account": "您的账号", "part.sanctions": "处罚及相关通知",
		"part.appeals": "您的申诉", "part.reports": "您提交的举报", "part.wallet": "您的钱包及账单",
		"part.personal_data": "您的个人信息", "part.access_log": "对您个人信息的每一次访问（附证明）",
	},
}

// renderIndex returns index.html for m, in m's locale (English for one not offered).
func renderIndex(m *Manifest) (io.Reader, error) {
	l, ok := labels[m.Locale]
	if !ok {
		l = labels["en"]
	}
	var b bytes.Buffer
	err := indexPage.Execute(&b, struct {
		L map[string]string
		M *Manifest
	}{l, m})
	return &b, err
}
