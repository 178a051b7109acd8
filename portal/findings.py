"""What the agent found, as a person browses it: files by folder, duplicate groups with the
space they waste, and cleanup kinds (the ones Czkawka and fclones users know). Built once per
inventory and kept: paging through 100,000 files only slices lists already sorted. Titles and
reasons are catalog messages, translated where they are shown (`localized`)."""

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from portal.i18n import N_, _

BIG_FILE_BYTES = 100 * 1000 * 1000
TEMPORARY = re.compile(
    r"^(\.DS_Store|Thumbs\.db|desktop\.ini|~\$.*|.*\.(tmp|temp|crdownload|part|partial|swp|bak)"
    r"|.*~)$",
    re.IGNORECASE,
)
KEEP_RULES = ("shortest", "oldest", "newest")
SORTS = ("path", "size", "date")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    pages: int

    def view(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "pages": self.pages}


def paginate(items: list[Any], page: int, per_page: int) -> Page:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    pages = max(1, -(-len(items) // per_page))
    page = max(1, min(page, pages))
    start = (page - 1) * per_page
    return Page(items[start : start + per_page], len(items), page, pages)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _group(sha256: str, size: int, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sha256": sha256, "size": size, "files": files}


def keep_order(rule: str) -> Any:
    """Sort key putting the copy to keep first."""
    if rule == "oldest":
        return lambda f: (f.get("mtime") or 0, len(f["path"]), f["path"])
    if rule == "newest":
        return lambda f: (-(f.get("mtime") or 0), len(f["path"]), f["path"])
    return lambda f: (f["path"].count("/"), len(f["path"]), f["path"])


class Findings:
    def __init__(
        self,
        files: dict[str, dict[str, Any]],
        empty_folders: list[str] | None = None,
        broken_links: list[str] | None = None,
    ) -> None:
        self.by_path = files
        self.empty_folders = empty_folders or []
        self.broken_links = broken_links or []
        self.files = sorted(files.values(), key=lambda f: f["path"])
        self.total_bytes = sum(f["size"] for f in self.files)
        groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        # Each folder's own files, and the file count and size of each of its subfolders.
        self.children: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in self.files:
            if f["size"] > 0:
                groups[(f["sha256"], f["size"])].append(f)
            self.children[f["path"].rpartition("/")[0]].append(f)
        # Each folder's subfolders with the file count and size below each of them.
        self.subfolders: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for name, own in self.children.items():
            count, size = len(own), sum(f["size"] for f in own)
            parts = name.split("/") if name else []
            for depth in range(len(parts)):
                below = self.subfolders["/".join(parts[:depth])].setdefault(parts[depth], [0, 0])
                below[0] += count
                below[1] += size
        self.groups: list[dict[str, Any]] = sorted(
            (
                _group(sha, size, members)
                for (sha, size), members in groups.items()
                if len(members) > 1
            ),
            key=lambda g: (-g["size"] * (len(g["files"]) - 1), g["files"][0]["path"]),
        )
        self.wasted_bytes = sum(g["size"] * (len(g["files"]) - 1) for g in self.groups)
        # Every path, folded, in one string: a search is str.find over it, not a Python loop.
        self._paths = [f["path"] for f in self.files]
        folded = [path.casefold() for path in self._paths]
        self._starts: list[int] = []
        offset = 0
        for path in folded:
            self._starts.append(offset)
            offset += len(path) + 1
        self._haystack = "\n".join(folded)
        self._sorted: dict[tuple[str, str, bool], list[dict[str, Any]]] = {}
        self._cleanup: dict[str, list[dict[str, Any]]] = {}

    def _order(
        self, key: str, items: list[dict[str, Any]], sort: str, descending: bool
    ) -> list[dict[str, Any]]:
        """`items` (in path order) sorted by `sort`, kept for the next page."""
        cached = self._sorted.get((key, sort, descending))
        if cached is not None:
            return cached
        if sort == "size":
            order = sorted(items, key=lambda f: (f["size"], f["path"]), reverse=descending)
        elif sort == "date":
            order = sorted(
                items, key=lambda f: (f.get("mtime") or 0, f["path"]), reverse=descending
            )
        else:
            order = items[::-1] if descending else items
        if len(self._sorted) > 64:
            self._sorted.pop(next(iter(self._sorted)))
        self._sorted[(key, sort, descending)] = order
        return order

    def _search(self, prefix: str, needle: str) -> list[int]:
        """Indexes of the files under `prefix` whose path below it holds `needle` (folded)."""
        lo = bisect.bisect_left(self._paths, prefix)
        hi = bisect.bisect_left(self._paths, prefix + "\U0010ffff") if prefix else len(self._paths)
        if lo >= hi or "\n" in needle:
            return []
        end = self._starts[hi] - 1 if hi < len(self._paths) else len(self._haystack)
        found: list[int] = []
        at = self._starts[lo]
        while (hit := self._haystack.find(needle, at, end)) >= 0:
            index = bisect.bisect_right(self._starts, hit, lo, hi) - 1
            line_end = self._starts[index + 1] - 1 if index + 1 < len(self._starts) else end
            if hit >= self._starts[index] + len(prefix.casefold()):
                found.append(index)
                at = line_end + 1
            else:
                at = hit + 1
        return found

    def folder(
        self,
        folder: str,
        search: str,
        sort: str = "path",
        descending: bool = False,
        page: int = 1,
        per_page: int = 50,
    ) -> dict[str, Any]:
        """The files under `folder` (all of them when searching, else those directly in it),
        its subfolders with their file counts and sizes, a page at a time."""
        name = folder.strip("/")
        prefix = f"{name}/" if name else ""
        needle = search.casefold().strip()
        sort = sort if sort in SORTS else "path"
        if needle:
            matches = [self.files[i] for i in self._search(prefix, needle)]
            listed = self._order(f"search:{prefix}:{needle}", matches, sort, descending)
            folders = []
        else:
            listed = self._order(f"folder:{name}", self.children.get(name, []), sort, descending)
            folders = [
                {"name": sub, "path": prefix + sub, "files": n, "bytes": size}
                for sub, (n, size) in sorted(self.subfolders.get(name, {}).items())
            ]
        return {
            "folder": name,
            "search": search,
            "folders": folders,
            "files": paginate(listed, page, per_page).view(),
        }

    def duplicates(self, keep: str, page: int = 1, per_page: int = 20) -> dict[str, Any]:
        """Groups of identical files, most wasted space first; in each, the copy `keep` keeps
        and the others preselected for the quarantine."""
        order = keep_order(keep if keep in KEEP_RULES else "shortest")
        shown = paginate(self.groups, page, per_page)
        groups = []
        for group in shown.items:
            kept, *copies = sorted(group["files"], key=order)
            groups.append(
                {
                    "sha256": group["sha256"],
                    "size": group["size"],
                    "wasted": group["size"] * len(copies),
                    "keep": kept,
                    "copies": copies,
                }
            )
        return {
            "keep": keep,
            "groups": groups,
            "total_groups": shown.total,
            "wasted_bytes": self.wasted_bytes,
            "page": shown.page,
            "pages": shown.pages,
        }

    def copies_in(self, folder: str, keep: str = "shortest") -> list[str]:
        """The duplicate copies under `folder` to quarantine, keeping at least one copy of
        each content: one outside the folder, or else the one `keep` keeps inside it."""
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        order = keep_order(keep if keep in KEEP_RULES else "shortest")
        chosen: list[str] = []
        for group in self.groups:
            inside = [f for f in group["files"] if f["path"].startswith(prefix)]
            if len(inside) == len(group["files"]):
                inside = sorted(inside, key=order)[1:]
            chosen.extend(f["path"] for f in inside)
        return sorted(chosen)

    def cleanup(self, keep: str = "shortest", shown: int | None = None) -> list[dict[str, Any]]:
        """Each kind of clutter with its files (the first `shown` of them), the reason and the
        space it frees. Computed once per keep rule."""
        keep = keep if keep in KEEP_RULES else "shortest"
        if keep not in self._cleanup:
            self._cleanup[keep] = self._kinds(keep)
        return [
            {**kind, "files": kind["files"][:shown] if shown is not None else kind["files"]}
            for kind in self._cleanup[keep]
        ]

    def _kinds(self, keep: str) -> list[dict[str, Any]]:
        order = keep_order(keep)
        copies = [
            {**f, "reason": N_("same content as %(path)s"), "about": kept["path"]}
            for group in self.groups
            for kept, *others in [sorted(group["files"], key=order)]
            for f in others
        ]
        empty = [{**f, "reason": N_("empty file")} for f in self.files if f["size"] == 0]
        temporary = [
            {**f, "reason": N_("temporary or system file")}
            for f in self.files
            if f["size"] > 0 and TEMPORARY.match(_name(f["path"]))
        ]
        big = sorted(
            ({**f, "reason": N_("over 100 MB")} for f in self.files if f["size"] >= BIG_FILE_BYTES),
            key=lambda f: -f["size"],
        )
        folders = [{"path": p, "size": 0, "reason": N_("empty folder")} for p in self.empty_folders]
        links = [
            {"path": p, "size": 0, "reason": N_("link to something that is not there")}
            for p in self.broken_links
        ]
        kinds = [
            ("duplicates", N_("Duplicate copies"), copies, True),
            ("empty", N_("Empty files"), empty, True),
            ("temporary", N_("Temporary and system files"), temporary, True),
            ("big", N_("Big files"), big, True),
            ("empty_folders", N_("Empty folders"), folders, False),
            ("broken_links", N_("Broken links"), links, False),
        ]
        return [
            {
                "kind": kind,
                "title": title,
                "files": files,
                "count": len(files),
                "bytes": sum(f["size"] for f in files),
                "actionable": actionable,  # the agent can quarantine these
            }
            for kind, title, files, actionable in kinds
        ]


def localized(kinds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cleanup kinds with their titles and reasons in the reader's language."""
    return [
        {
            **kind,
            "title": _(kind["title"]),
            "files": [
                {**f, "reason": _(f["reason"], path=f.get("about", ""))} for f in kind["files"]
            ],
        }
        for kind in kinds
    ]
