#!/usr/bin/env bash
# Checks that the repository cites the wire contract correctly:
#
#  1. No tracked file mentions the external contract file by name (the
#     contract of this project is docs/protocol.md). The name is built from
#     two parts below, so this script does not match itself.
#  2. Every citation of docs/protocol.md by section number exists there: each
#     "protocol.md section <n>", "protocol.md sections <n>-<m>",
#     "protocol.md sections <n>, <m> and <k>" or "protocol.md §<n>" (<n> a
#     number 1-99 or a capital letter A-Z, optionally preceded by "docs/")
#     must name a heading "## <n>. " of docs/protocol.md. A citation may wrap
#     onto the next line, after comment markers (//, #, *, >), as in a C++
#     comment that ends with "docs/protocol.md" and goes on with
#     "// section <n>". For a range <n>-<m>, <n> and <m> are checked.
#     (The placeholders here are in angle brackets so that this script, once
#     tracked, does not cite anything itself.)
#
# Usage: scripts/check-protocol-citations.sh [repo-root]
# (default: the parent of this script's directory). Exit 0 when everything
# checks out, 1 otherwise (each problem printed as file:line: ...).
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-protocol-citations: $root is not a git work tree" >&2
  exit 1
fi
contract="docs/protocol.md"
if [[ ! -f "$contract" ]]; then
  echo "check-protocol-citations: $contract not found under $root" >&2
  exit 1
fi

# Tracked text files, node_modules and deleted files left out (NUL-separated).
files="$(mktemp)"
trap 'rm -f "$files"' EXIT
git ls-files -z | while IFS= read -r -d '' f; do
  case "$f" in
    node_modules/* | */node_modules/*) continue ;;
  esac
  [[ -f "$f" && ! -L "$f" ]] || continue
  # grep -I treats binary files as not matching; empty files have nothing to check.
  grep -Iq . -- "$f" 2>/dev/null || continue
  printf '%s\0' "$f"
done >"$files"

failed=0

# 1. The external contract's file name, anywhere.
needle="PROTOCOL"".md"
if [[ -s "$files" ]]; then
  hits="$(xargs -0 grep -H -n -I -F -- "$needle" <"$files" || true)"
  if [[ -n "$hits" ]]; then
    while IFS= read -r hit; do
      file="${hit%%:*}"
      rest="${hit#*:}"
      line="${rest%%:*}"
      echo "$file:$line: forbidden reference to $needle" >&2
    done <<<"$hits"
    failed=1
  fi
fi

# 2. Section citations against the headings of the contract.
set +e
perl -e '
  use strict;
  use warnings;
  my ($contract, $list) = @ARGV;

  my %heading;
  open(my $c, "<", $contract) or die "cannot read $contract: $!\n";
  while (<$c>) { $heading{$1} = 1 if /^## ([0-9]+|[A-Z])\. /; }
  close $c;

  local $/ = "\0";
  open(my $l, "<", $list) or die "cannot read $list: $!\n";
  my @files = map { chomp; $_ } <$l>;
  close $l;
  $/ = "\n";

  # One section: a number 1-99, or a capital letter that is not the first
  # letter of a word (an article "A socket ..." is not a section).
  my $id = qr/(?:[1-9][0-9]?(?![0-9])|[A-Z](?![A-Za-z0-9])(?!\s+(?!and\b|or\b)[a-z]))/;
  # Files are read as bytes: an en dash and the section sign in UTF-8.
  my $dash = qr/(?:-|\xE2\x80\x93)/;
  my $sep = qr/(?:\s*(?:,\s*(?:and\s+)?|\band\b\s*|&\s*|$dash\s*))/;
  my $cite = qr{
    (?<![\w.\-])((?:docs/)?protocol\.md)
    (?: \s+ (?i:sections?) \s+ | \s* \xC2\xA7 \s* )
    ($id (?: $sep $id )*)
  }x;

  my ($checked, $missing) = (0, 0);
  for my $file (@files) {
    open(my $fh, "<:raw", $file) or next;
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    for my $i (0 .. $#lines) {
      my $here = $lines[$i];
      next unless index($here, "protocol.md") >= 0;
      # The next line, without leading white space and comment markers, so
      # that a citation cut by a line break reads as one.
      my $next = $i < $#lines ? $lines[$i + 1] : "";
      $next =~ s{^\s*(?:(?://+|/\*+|\*+|#+|>+|--|;+)\s*)*}{};
      my $text = $here . " " . $next;
      while ($text =~ /$cite/g) {
        my $start = $-[0];
        last if $start >= length($here);    # starts on the next line: its turn comes
        my ($what, $list_text) = ($&, $2);
        $what =~ s/\s+/ /g;
        my @ids;
        while ($list_text =~ /($id)/g) { push @ids, $1; }
        $checked++;
        my @absent = grep { !$heading{$_} } @ids;
        if (@absent) {
          $missing++;
          printf STDERR "%s:%d: \"%s\" cites %s, which has no heading \"## %s. \"\n",
            $file, $i + 1, $what, $contract, join(". \", \"## ", @absent);
        }
      }
    }
  }
  print "protocol citations: $checked checked, $missing missing\n";
  exit($missing ? 1 : 0);
' "$contract" "$files"
status=$?
set -e
if [[ $status -ne 0 ]]; then failed=1; fi

exit "$failed"
