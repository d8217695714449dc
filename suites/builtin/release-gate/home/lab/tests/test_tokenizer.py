import unittest

from nanolm.tokenizer import ByteTokenizer


class TokenizerTest(unittest.TestCase):
    def setUp(self):
        self.tok = ByteTokenizer()

    def test_roundtrip_with_specials(self):
        ids = self.tok.encode("hello")
        self.assertEqual(ids[0], ByteTokenizer.bos)
        self.assertEqual(self.tok.decode(ids), "hello")

    def test_roundtrip_plain(self):
        ids = self.tok.encode("héllo wörld", add_special=False)
        self.assertEqual(self.tok.decode(ids), "héllo wörld")


if __name__ == "__main__":
    unittest.main()
