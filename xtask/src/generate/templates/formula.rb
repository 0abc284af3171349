@header@
# A Homebrew formula for @package@ @version@, released beside its archives:
# copy it into a tap (`brew tap-new`), then `brew install <tap>/@package@`.
class @class@ < Formula
  desc "@desc@"
  homepage "@homepage@"
  version "@version@"
@license@
@platforms@
  def install
@install@  end

  test do
@test@  end
end
