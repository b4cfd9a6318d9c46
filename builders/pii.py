"""Personal data masking: ID card, phone and bank card numbers, e-mail addresses, licence plates
everywhere; real names of natural persons where a source holds them (张三 → 张某).

Names are found the way a reader finds them in a judgment: after a party or role word (被告人,
原告, 证人, 审判员 ...), written with a common surname, and ending where the sentence goes on (，、
（ 男 系 因 ...). Every later mention of a found name in the same record is masked too. Names that
are already anonymised (王某, 张x1, 陈××) are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

MASKS = {
    "id_card": "[身份证号]",
    "bank_card": "[银行卡号]",
    "phone": "[电话号码]",
    "email": "[电子邮箱]",
    "licence_plate": "[车牌号]",
}
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "id_card",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\d{3}[\dXx](?![0-9A-Za-z])"
            r"|(?<![0-9A-Za-z])[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])"
        ),
    ),
    (
        "bank_card",
        re.compile(r"(?<![\d.])(?:\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,4})?)(?![\d.])"),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\d.])(?:(?:\+|00)?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\d.])"
            r"|(?<![\d.])0\d{2,3}-\d{7,8}(?![\d.])"
        ),
    ),
    (
        "licence_plate",
        re.compile(
            r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
            r"[A-HJ-NP-Z][·• ]?[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警]"
            r"(?![A-Za-z0-9])"
        ),
    ),
]

SURNAMES_2 = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫 "
    "西门 申屠 万俟 闻人 澹台 公冶 濮阳 太史 单于 呼延 钟离 百里"
).split()
SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳"
    "甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解"
    "牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边"
    "卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗"
    "燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索"
    "宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危"
    "玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
ROLES = sorted(
    (
        "被告人 被告 原告 上诉人 被上诉人 申请人 被申请人 申诉人 被申诉人 再审申请人 罪犯 犯罪嫌疑人 "
        "第三人 证人 被害人 法定代理人 委托代理人 委托诉讼代理人 诉讼代理人 辩护人 审判长 审判员 "
        "代理审判员 人民陪审员 陪审员 书记员 法官助理 执行员 当事人 原审被告人 原审原告 原审被告 "
        "被执行人 申请执行人 法定代表人 负责人 借款人 出借人 担保人 保证人 同案犯 嫌疑人 死者 受害人 被监管人"
    ).split(),
    key=len,
    reverse=True,
)
_SURNAME = "(?:" + "|".join(SURNAMES_2) + f"|[{SURNAMES_1}])"
_AFTER = r"(?=[，,、。；;：:（(\s]|男|女|系|因|于|在|与|和|及|诉|的|等|向|将|到|已|自|为|称|辩|对|也|不|是|犯|被|均|共|二|两|$)"
_NAME = rf"(?P<name>{_SURNAME}[\u4e00-\u9fff]{{1,2}}?){_AFTER}"
_ROLE_NAME = re.compile(rf"(?:{'|'.join(ROLES)})(?:[:：])?{_NAME}")
_MORE_NAMES = re.compile(rf"^、{_NAME}")
_ROLE_RUN_ON = re.compile(rf"(?:{'|'.join(ROLES)})(?P<name>{_SURNAME}[\u4e00-\u9fff]{{2}})")
#: names written right before a bracketed note about the person: 刘国栋、高春华（均另案处理）
_NOTED_NAMES = re.compile(
    rf"(?P<names>(?:{_SURNAME}[\u4e00-\u9fff]{{1,2}}、)*{_SURNAME}[\u4e00-\u9fff]{{1,2}})"
    r"[（(](?:均)?(?:另案|被害人|殁年|已判刑|同案|已死亡|死者|在逃|绰号|曾用名|化名|男|女)"
)
_ANON = re.compile(r"[某×xX＊*0-9]")
#: an anonymised given name: 刘甲, 张乙 (but 丁海震 and 张丙圈 are real names)
_ANON_GIVEN = re.compile(r"[甲乙丙丁戊己庚辛壬癸]")
_GIVEN_NOT_NAME = set("某人等均的及和与向在称犯被其")
#: surname characters that are also common function words: never a run-on name (被告人明知...)
_AMBIGUOUS_SURNAMES = set("于向和时明成那国平全应信由但及高原利公来都相初门计以万关党")
#: words a role is often followed by that a name pattern would take for a name
_NOT_NAMES = frozenset(
    "于是 明知 向其 和解 平时 全部 应当 由于 但是 及时 高度 原因 利用 公司 来到 都是 相关 初步 计算 "
    "方面 同时 对此 不服 本人 自己 双方 其他 一起 共同 多次 当庭 经过 事后 均系 辩称 诉称 称其 "
    "所述 所称 上诉 申请 答辩 认为 承认 供述 陈述 交代 身份 家属 亲属 姓名 公章 印章 陆续 利润 应得 "
    "管理 方要求 车损 相撞 车辆 金额 借款 欠款 房屋 合同 协议 工资 费用 损失 赔偿 责任 证据 事实 "
    "理由 请求 意见 行为 时间 期间 期限 之间 之后 之前 一方 双方 单位 公安 法院 律师 代理 委托 "
    "签订 支付 归还 偿还 返还 承担 提供 出具 出借 借给 购买 经营 管理 占有 使用 主张 确认 同意 "
    "明确 说明 解释 表示 告知 通知 要求 拒绝 放弃 隐瞒 伪造 盗窃 抢劫 诈骗 故意 过失 驾驶".split()
)


@lru_cache(maxsize=1)
def _common_words() -> dict[str, int]:
    """jieba's dictionary words that are not person names (tag not ``nr*``) -> frequency.

    A candidate that is such a word (关于, 强奸, 单位, 公章) is an ordinary word after a role
    word, not a name. Loaded once per process, and only where names are masked.
    """
    import jieba

    words: dict[str, int] = {}
    path = Path(jieba.__file__).parent / "dict.txt"
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not parts[2].startswith("nr"):
                words[parts[0]] = int(parts[1])
    return words


def is_common_word(cand: str) -> bool:
    """Whether ``cand`` reads as ordinary words rather than a name."""
    words = _common_words()
    if cand in words:
        return True
    if len(cand) < 3:
        return False
    # 方要求 (要求), 关于某 (关于); a doubled given name (多多, 娜娜) is a name, not a word.
    doubled = cand[-1] == cand[-2]
    # Only very common words count here: given names such as 建国 or 红军 are words too.
    return words.get(cand[:2], 0) >= 5000 or (not doubled and words.get(cand[-2:], 0) >= 5000)


def find_names(text: str) -> set[str]:
    """Real person names introduced by a role word in ``text``.

    A name must end where the sentence goes on (被告人王小明，男 / 原告李林与...); a name run into
    the next word (被告人莫新国酒后...) counts only as three characters that recur in the text and
    are never followed there by anything else (so 莫新国, not 莫新 or 莫新国酒).
    """
    names: set[str] = set()

    def add(cand: str) -> None:
        if _ANON.search(cand) or cand[-1] in _GIVEN_NOT_NAME or cand in _NOT_NAMES:
            return
        surname = 2 if cand[:2] in SURNAMES_2 else 1
        if _ANON_GIVEN.fullmatch(cand[surname:]):
            return
        if cand[:2] not in SURNAMES_2 and is_common_word(cand):
            return
        names.add(cand)

    for m in _ROLE_NAME.finditer(text):
        pos = m.start("name")
        cand = m.group("name")
        while True:
            add(cand)
            end = pos + len(cand)
            more = _MORE_NAMES.match(text[end:])
            if more is None:
                break
            pos, cand = end + more.start("name"), more.group("name")
    for m in _NOTED_NAMES.finditer(text):
        for cand in m.group("names").split("、"):
            add(cand)
    for m in _ROLE_RUN_ON.finditer(text):
        c3 = m.group("name")
        if c3[0] in _AMBIGUOUS_SURNAMES or c3[:2] in _NOT_NAMES or any(n in c3 for n in names):
            continue
        if text.count(c3) >= 2 and text.count(c3) == text.count(c3[:2]):
            add(c3)
    return names


def masked_name(name: str) -> str:
    surname = name[:2] if name[:2] in SURNAMES_2 else name[0]
    return surname + "某"


def mask_names(text: str, names: set[str], counts: Counter[str]) -> str:
    for name in sorted(names, key=lambda n: (-len(n), n)):
        n = text.count(name)
        if n:
            text = text.replace(name, masked_name(name))
            counts["name"] += n
    return text


def mask_identifiers(text: str, counts: Counter[str]) -> str:
    """Mask ID card, bank card and phone numbers, e-mail addresses and licence plates."""
    for kind, rx in _PATTERNS:
        text, n = rx.subn(MASKS[kind], text)
        if n:
            counts[kind] += n
    return text
